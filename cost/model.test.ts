/**
 * The cost estimate's arithmetic, each figure recomputed here by hand from
 * the price table, plus the inputs that restate facts of the stacks checked
 * against the synthesized stack and the processors' source.
 */
import { readFileSync } from 'node:fs';
import { Testing } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { FAMILIES } from '../tools/generators/families.js';
import { addFamilies } from '../modules/app.js';
import { ENVIRONMENTS } from '../modules/environments.js';
import { PipelineStack } from '../modules/pipeline-stack.js';
import { resources, synthJson } from '../test/support/synthesized.js';
import { ALARM_METRICS_PER_FAMILY, ALERT_DELIVERY_ALARM_METRICS, API_ALARM_METRICS, EMF_METRICS_PER_FAMILY, SECONDS_PER_MONTH } from './inputs.js';
import { estimate, invocationsPerSecond, processorMs, tracesPerSecond, unitsAt, type FamilyUnits, type MeasuredUnits, type Workload } from './model.js';
import { PRICES, tiered } from './prices.js';
import { costReport, money } from './report.js';

const units = (read: number, write: number, alerts = 0): FamilyUnits => ({ readUnitsPerEvent: read, writeUnitsPerEvent: write, requestsPerEvent: 1, alertsPerEvent: alerts, requests: {} });
const NAMES = FAMILIES.map((f) => f.name);
const MEASURED: MeasuredUnits = {
  measuredAt: '2026-12-02T00:00:00Z',
  events: 400,
  shards: 1,
  seed: 7,
  byBatchSize: {
    '1': Object.fromEntries(NAMES.map((n) => [n, units(4, 3, 0.1)])),
    '100': Object.fromEntries(NAMES.map((n) => [n, units(2, 1, 0.1)])),
  },
};
const WORKLOAD: Workload = { eventsPerSecond: 10, batch: 100, eventBytes: 300, envelopeBytes: 150 };
const cost = (e: ReturnType<typeof estimate>, item: string) => e.lines.filter((l) => l.item.startsWith(item)).reduce((s, l) => s + l.cost, 0);

describe('price arithmetic', () => {
  it('tiers API Gateway requests: 3.50, then 2.80 per million after 333 million', () => {
    expect(tiered(1e6, PRICES.apiGateway.restRequests)).toBeCloseTo(3.5, 6);
    expect(tiered(333e6, PRICES.apiGateway.restRequests)).toBeCloseTo(333 * 3.5, 6);
    expect(tiered(1e9, PRICES.apiGateway.restRequests)).toBeCloseTo(333 * 3.5 + 667 * 2.8, 6);
    expect(tiered(21e9, PRICES.apiGateway.restRequests)).toBeCloseTo(333 * 3.5 + 667 * 2.8 + 19_000 * 2.38 + 1_000 * 1.51, 4);
    expect(tiered(0, PRICES.apiGateway.restRequests)).toBe(0);
  });

  it('a month is 730 hours', () => {
    expect(SECONDS_PER_MONTH).toBe(2_628_000);
  });
});

describe('event source mapping and processor model', () => {
  it('invokes per full batch when the window fills one, else once per window, else once per record', () => {
    expect(invocationsPerSecond(500, 100, 1)).toBe(5);
    expect(invocationsPerSecond(2.5, 100, 1)).toBe(1);
    expect(invocationsPerSecond(2.5, 100, 5)).toBeCloseTo(0.2, 9);
    expect(invocationsPerSecond(0.3, 100, 1)).toBeCloseTo(0.3, 9);
    expect(invocationsPerSecond(0, 100, 1)).toBe(0);
    // Continuous where the window starts to fill a batch.
    expect(invocationsPerSecond(100, 100, 1)).toBe(1);
  });

  it("goes through the README's two measured throughput points", () => {
    expect(processorMs(100)).toBeCloseTo((100 / 264) * 1000, 6);
    expect(processorMs(1000)).toBeCloseTo((1000 / 514) * 1000, 6);
    expect(processorMs(550)).toBeCloseTo(((100 / 264) * 1000 + (1000 / 514) * 1000) / 2, 6);
  });

  it('takes measured units at a measured batch size, between them in log scale, and the nearest beyond', () => {
    expect(unitsAt(MEASURED, 'orders', 1).readUnitsPerEvent).toBe(4);
    expect(unitsAt(MEASURED, 'orders', 100).writeUnitsPerEvent).toBe(1);
    expect(unitsAt(MEASURED, 'orders', 10).readUnitsPerEvent).toBeCloseTo(3, 9);
    expect(unitsAt(MEASURED, 'orders', 400).readUnitsPerEvent).toBe(2);
    expect(() => unitsAt(MEASURED, 'nope', 10)).toThrow(/npm run cost -- --measure/);
  });

  it('samples X-Ray traces as the default rule does: 1 a second, then 5 %', () => {
    expect(tracesPerSecond(0.5)).toBe(0.5);
    expect(tracesPerSecond(101)).toBeCloseTo(1 + 5, 9);
  });
});

describe('estimate of an environment', () => {
  it('dev at 2.5 events/s per family: each line recomputed from the settings and the price table', () => {
    const dev = ENVIRONMENTS.dev;
    // Per family, so the figures hold for any number of families in the list.
    const n = NAMES.length;
    const workload = { ...WORKLOAD, eventsPerSecond: 2.5 * n };
    const single = estimate(dev, NAMES, workload, 'single', MEASURED);
    const batch = estimate(dev, NAMES, workload, 'batch', MEASURED);
    const events = 2.5 * n * 2_628_000;
    expect(cost(single, 'REST API requests')).toBeCloseTo((events / 1e6) * 3.5, 6);
    expect(cost(batch, 'REST API requests')).toBeCloseTo((events / 100 / 1e6) * 3.5, 6);
    // n streams × 1 shard × 730 h; 450 B records are one 25 KB PUT payload unit each.
    expect(cost(single, 'shard-hours')).toBeCloseTo(n * 1 * 730 * 0.015, 6);
    expect(cost(single, 'PUT payload units')).toBeCloseTo((events / 1e6) * 0.014, 6);
    // 2.5 events/s per family on one shard with a 1 s window: one invocation a second per family, 2.5 records each.
    expect(cost(single, 'invocations')).toBeCloseTo(((n * 2_628_000) / 1e6) * 0.2, 6);
    expect(cost(single, 'compute')).toBeCloseTo(n * 2_628_000 * (processorMs(2.5) / 1000) * (256 / 1024) * 0.0000133334, 6);
    // 2.5 records per invocation lies between the measured batch sizes 1 and 100.
    const t = Math.log(2.5) / Math.log(100);
    expect(cost(single, 'write request units')).toBeCloseTo(((events * (3 + t * (1 - 3))) / 1e6) * 0.625, 4);
    expect(cost(single, 'read request units')).toBeCloseTo(((events * (4 + t * (2 - 4))) / 1e6) * 0.125, 4);
    expect(cost(single, 'custom events')).toBeCloseTo(((events * 0.1) / 1e6) * 1.0, 6);
    expect(cost(single, 'publishes')).toBeCloseTo(((events * 0.1) / 1e6) * 0.5, 6);
    expect(cost(single, 'dashboard')).toBe(3);
    expect(cost(single, 'alarms')).toBeCloseTo((n * 7 + 2 + 3) * 0.1, 9);
    // dev has no archive and no tracing.
    expect(single.byService.has('Firehose + S3')).toBe(false);
    expect(single.byService.has('X-Ray')).toBe(false);
    expect(single.total).toBeCloseTo(single.lines.reduce((s, l) => s + l.cost, 0), 9);
  });

  it('the two routes differ only where requests are counted: API Gateway, access logs (and traces where tracing is on)', () => {
    for (const env of [ENVIRONMENTS.dev, ENVIRONMENTS.prod]) {
      const single = estimate(env, NAMES, { ...WORKLOAD, eventsPerSecond: 1000 }, 'single', MEASURED);
      const batch = estimate(env, NAMES, { ...WORKLOAD, eventsPerSecond: 1000 }, 'batch', MEASURED);
      for (const [service, value] of single.byService) {
        if (['API Gateway', 'CloudWatch', 'X-Ray'].includes(service)) expect(batch.byService.get(service)!, service).toBeLessThan(value);
        else expect(batch.byService.get(service), service).toBeCloseTo(value, 9);
      }
    }
  });

  it('prod: extended retention, shard-level metrics, archive and tracing are priced from its settings', () => {
    const prod = ENVIRONMENTS.prod;
    const e = estimate(prod, NAMES, WORKLOAD, 'batch', MEASURED);
    // Per family: 4 shards × 730 h; EMF metrics and 4 shard-level metrics per shard.
    expect(cost(e, 'extended retention')).toBeCloseTo(NAMES.length * 4 * 730 * 0.02, 6);
    expect(e.lines.find((l) => l.item.startsWith('custom metrics'))!.quantity).toBe(NAMES.length * (6 + 4 * 4));
    expect(e.byService.get('Firehose + S3')).toBeGreaterThan(0);
    expect(e.byService.get('X-Ray')).toBeGreaterThan(0);
  });

  it('warns when the rate exceeds the provisioned shards (1,000 records/s each) and says how many are needed', () => {
    expect(estimate(ENVIRONMENTS.dev, NAMES, WORKLOAD, 'batch', MEASURED).warnings).toEqual([]);
    const [warning] = estimate(ENVIRONMENTS.dev, NAMES, { ...WORKLOAD, eventsPerSecond: 2_500 * NAMES.length }, 'batch', MEASURED).warnings;
    expect(warning).toMatch(/2500 events\/s per family exceed 1 shard/);
    expect(warning).toMatch(/3 shards are needed/);
  });

  it('prints a table by service with both routes, the difference and the total', () => {
    const report = costReport(ENVIRONMENTS.staging, FAMILIES, { eventsPerSecond: 10, batch: 50 }, MEASURED);
    expect(report.text).toContain('| service');
    expect(report.text).toContain('batch route (50/request)');
    expect(report.text).toContain(`**${money(report.single.total)}**`);
    expect(report.text).toContain(`-${money(report.single.byService.get('API Gateway')! - report.batch.byService.get('API Gateway')!)}`);
    expect(money(1234.5)).toBe('$1,234.50');
    expect(money(0.001)).toBe('<$0.01');
  });
});

describe('inputs that restate the stacks', () => {
  it('alarm metrics per family and for the API match the synthesized stack', () => {
    const stack = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
    addFamilies(stack);
    const alarms = resources(synthJson(stack), 'aws_cloudwatch_metric_alarm').map(([, a]) => a);
    const metricsOf = (a: Record<string, any>) => (a.metric_query ? (a.metric_query as Array<{ metric?: unknown }>).filter((q) => q.metric).length : 1);
    const total = alarms.reduce((sum, a) => sum + metricsOf(a), 0);
    expect(total).toBe(FAMILIES.length * ALARM_METRICS_PER_FAMILY + API_ALARM_METRICS + ALERT_DELIVERY_ALARM_METRICS);
  });

  it("the EMF metric count matches the processors' addMetric calls", () => {
    const source = readFileSync(new URL('../handlers/runtime/outcome.ts', import.meta.url), 'utf8');
    const names = new Set([...source.matchAll(/addMetric\('([A-Za-z]+)'/g)].map((m) => m[1]));
    expect(names.size).toBe(EMF_METRICS_PER_FAMILY);
  });
});
