/**
 * The cost estimate as text: monthly cost by service for the single and the
 * batch route side by side, then what it rests on.
 */
import { randomUUID } from 'node:crypto';
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import type { EnvironmentConfig } from '../modules/environments.js';
import { estimate, type Estimate, type MeasuredUnits, type Service, type Workload } from './model.js';
import { PRICES } from './prices.js';

/** Bytes the API's envelope adds around a body (its fields with a batch-route id, as the templates write them). */
export function envelopeBytes(family: FamilyDefinition): number {
  const envelope = { id: `${randomUUID()}:499`, family: family.name, key: 'x'.repeat(36), receivedAt: Date.now(), sourceIp: '203.0.113.255', data: null };
  return JSON.stringify(envelope).length - 'null'.length;
}

/** Average bytes of the families' example bodies: the default event size. */
export function exampleEventBytes(families: readonly FamilyDefinition[]): number {
  return Math.round(families.reduce((sum, f) => sum + JSON.stringify(f.example).length, 0) / families.length);
}

export function money(value: number): string {
  if (value === 0) return '$0.00';
  if (value < 0.01) return '<$0.01';
  return `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** A Markdown table: the first `textColumns` left-aligned, the figures right-aligned. */
function table(rows: string[][], textColumns = 1): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < textColumns ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

export interface CostReport {
  readonly single: Estimate;
  readonly batch: Estimate;
  readonly text: string;
}

export function costReport(env: EnvironmentConfig, families: readonly FamilyDefinition[], options: { eventsPerSecond: number; batch: number; eventBytes?: number }, measured: MeasuredUnits): CostReport {
  const workload: Workload = {
    eventsPerSecond: options.eventsPerSecond,
    batch: options.batch,
    eventBytes: options.eventBytes ?? exampleEventBytes(families),
    envelopeBytes: Math.max(...families.map(envelopeBytes)),
  };
  const names = families.map((f) => f.name);
  const single = estimate(env, names, workload, 'single', measured);
  const batch = estimate(env, names, workload, 'batch', measured);
  const services = [...new Set([...single.byService.keys(), ...batch.byService.keys()])] as Service[];
  const rows = [['service', 'single route', `batch route (${workload.batch}/request)`, 'difference']];
  for (const service of services) {
    const [s, b] = [single.byService.get(service) ?? 0, batch.byService.get(service) ?? 0];
    rows.push([service, money(s), money(b), s === b ? '—' : `-${money(s - b)}`]);
  }
  rows.push(['**total per month**', `**${money(single.total)}**`, `**${money(batch.total)}**`, single.total === batch.total ? '—' : `**-${money(single.total - batch.total)}**`]);
  const lambda = batch.lines.find((l) => l.item.startsWith('invocations'))!;
  const text = [
    `${env.name}: ${options.eventsPerSecond.toLocaleString('en-US')} events/s (${(options.eventsPerSecond * 730 * 3600).toLocaleString('en-US', { maximumFractionDigits: 0 })} a month) over ${names.length} families, ${workload.eventBytes} B per event + ${workload.envelopeBytes} B envelope`,
    `settings: ${env.stream.mode === 'PROVISIONED' ? `${env.stream.shardCount} shard(s)` : 'on-demand'} per stream, ${env.stream.retentionHours} h retention, batch ${env.eventSource.batchSize}, window ${env.eventSource.maximumBatchingWindowInSeconds} s, parallelization ${env.eventSource.parallelizationFactor}, ${env.processor.memorySize} MB, tracing ${env.processor.tracing ? 'on' : 'off'}, archive ${env.archive ? 'on' : 'off'}; ${lambda.item}`,
    '',
    table(rows),
    '',
    ...single.warnings.map((w) => `warning: ${w}`),
    `prices: ${PRICES.region} ${PRICES.kind}, read ${PRICES.readOn} (cost/prices.ts); DynamoDB units and alerts per event measured ${measured.measuredAt.slice(0, 10)} (cost/measured.json)`,
  ].join('\n');
  return { single, batch, text };
}

/** Every line of one estimate, for --detail. */
export function detail(result: Estimate): string {
  const rows = [['service', 'item', 'quantity', 'cost']];
  for (const line of result.lines) {
    rows.push([line.service, line.item, `${line.quantity.toLocaleString('en-US', { maximumFractionDigits: line.quantity < 100 ? 2 : 0 })} ${line.unit}`, money(line.cost)]);
  }
  return `${result.route} route:\n${table(rows, 2)}`;
}
