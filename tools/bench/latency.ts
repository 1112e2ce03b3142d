/**
 * Part 2b: end-to-end latency (the API's 202 to the batch holding the event
 * done, i.e. its effects in the table) at a stated load: 25 % and 50 % of the
 * ingest rate measured first in the same run, with the same sender settings.
 * Where the time goes comes from local mode's poller (its `onBatch` reports
 * carry when each record was read and when the successful invocation began):
 * - until read: 202 → the poller's GetRecords returned the record (its idle
 *   poll interval, or the previous batch still being processed);
 * - window: read → invocation (the mapping's batching window);
 * - invocation: the processor's run, its DynamoDB and EventBridge calls
 *   included, until the poller has its answer.
 */
import type { BatchReport } from '../../local/poller.js';
import { FAMILIES } from '../generators/families.js';
import { Sender, type LogEntry } from '../generators/sender.js';
import { eventSource } from '../generators/source.js';
import { percentile } from '../generators/stats.js';
import type { LocalHandle } from './local.js';
import type { PartResult, Row } from './report.js';
import { loadavg } from 'node:os';

interface Done {
  readAtMs: number;
  invokedAtMs: number;
  doneAtMs: number;
}

/** Collects, per record, when it was read, invoked and done, from local mode's batch reports. */
export function batchTimings() {
  const done = new Map<string, Done>();
  const onBatch = (report: BatchReport) => {
    if (report.outcome !== 'ok' || !report.timing) return;
    const doneAtMs = Date.now();
    for (const r of report.timing.records) done.set(`${report.family}/${report.shardId}/${r.sequenceNumber}`, { readAtMs: r.readAtMs, invokedAtMs: report.timing.invokedAtMs, doneAtMs });
  };
  return { onBatch, done };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface PhaseResult {
  rate: number;
  accepted: number;
  done: number;
  latency: number[];
  untilRead: number[];
  window: number[];
  invocation: number[];
  summary: Awaited<ReturnType<Sender['run']>>;
}

async function phase(local: LocalHandle, done: Map<string, Done>, options: { rate: number; count: number; seed: number; drainMs: number }): Promise<PhaseResult> {
  const accepted: LogEntry[] = [];
  const sender = new Sender({
    url: local.apiUrl,
    apiKey: local.apiKey,
    concurrency: 4,
    batch: 1,
    rate: options.rate,
    onEntry: (e) => {
      if (e.accepted) accepted.push(e);
    },
  });
  const summary = await sender
    .run(eventSource({ families: FAMILIES.map((f) => f.name), seed: options.seed, epochMs: Date.now(), idPrefix: `latency-${options.seed}`, malformed: 0, count: options.count }))
    .finally(() => sender.close());
  const key = (e: LogEntry) => `${e.family}/${e.shardId}/${e.sequenceNumber}`;
  const deadline = Date.now() + options.drainMs;
  while (Date.now() < deadline && accepted.some((e) => !done.has(key(e)))) await sleep(100);
  const result: PhaseResult = { rate: options.rate, accepted: accepted.length, done: 0, latency: [], untilRead: [], window: [], invocation: [], summary };
  for (const e of accepted) {
    const d = done.get(key(e));
    if (!d) continue;
    result.done += 1;
    result.latency.push(d.doneAtMs - e.at);
    // The poller can read a record before its 202 reaches the client: that part is then 0.
    result.untilRead.push(Math.max(0, d.readAtMs - e.at));
    result.window.push(d.invokedAtMs - Math.max(d.readAtMs, e.at));
    result.invocation.push(d.doneAtMs - d.invokedAtMs);
  }
  return result;
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Mean of each part over the events whose latency is at or above the q-th percentile. */
function tail(r: PhaseResult, q: number) {
  const cut = percentile(r.latency, q);
  const idx = r.latency.map((l, i) => (l >= cut ? i : -1)).filter((i) => i >= 0);
  const mean = (list: number[]) => idx.reduce((a, i) => a + list[i]!, 0) / Math.max(1, idx.length);
  return { events: idx.length, untilRead: mean(r.untilRead), window: mean(r.window), invocation: mean(r.invocation) };
}

export async function latencyAtLoad(local: LocalHandle, done: Map<string, Done>, options: { seconds?: number; probeEvents?: number } = {}): Promise<PartResult> {
  const seconds = options.seconds ?? 40;
  const load0 = loadavg()[0]!;
  // The ingest rate with these sender settings (single route, concurrency 4), as fast as it goes.
  const saturation = await phase(local, done, { rate: 0, count: options.probeEvents ?? 600, seed: 2501, drainMs: 60_000 });
  const ingestRate = saturation.summary.eventsPerSecond;
  const rows: Row[] = [];
  const data: Record<string, unknown> = { ingestRate, saturation: { p50: percentile(saturation.latency, 50), p99: percentile(saturation.latency, 99) } };
  const es = local.deployment.families[0]!.eventSource;
  const budgetMs = es.maximumBatchingWindowInSeconds * 1000 + 1000 + 500;
  for (const share of [0.25, 0.5]) {
    const rate = share * ingestRate;
    const r = await phase(local, done, { rate, count: Math.max(50, Math.round(rate * seconds)), seed: 2500 + share * 100, drainMs: 60_000 });
    const t = tail(r, 99);
    const p = (q: number) => percentile(r.latency, q);
    const med = (list: number[]) => s(percentile(list, 50));
    data[`load${share * 100}`] = { rate, accepted: r.accepted, done: r.done, p50: p(50), p95: p(95), p99: p(99), tail99: t, medians: { untilRead: percentile(r.untilRead, 50), window: percentile(r.window, 50), invocation: percentile(r.invocation, 50) } };
    rows.push(
      {
        part: '2b latency at load',
        measure: `${share * 100} % of ingest (${rate.toFixed(1)} of ${ingestRate.toFixed(1)} events/s, ${seconds} s): 202 → effect p50 / p95 / p99`,
        ours: `${s(p(50))} / ${s(p(95))} / ${s(p(99))}`,
        baseline: `p99 goal ${s(budgetMs)}`,
        ratio: `${(p(99) / budgetMs).toFixed(2)}× of the goal`,
        notes: `${r.done}/${r.accepted} effects seen; single route, concurrency 4, 4 families; mapping: batch ${es.batchSize}, window ${es.maximumBatchingWindowInSeconds} s; goal = window + 1 s + 500 ms`,
      },
      {
        part: '2b latency at load',
        measure: `${share * 100} %: where the time goes, median per event: until read · window · invocation`,
        ours: `${med(r.untilRead)} · ${med(r.window)} · ${med(r.invocation)}`,
        baseline: '—',
        ratio: '—',
        notes: `slowest 1 % (${t.events} events), mean: ${s(t.untilRead)} · ${s(t.window)} · ${s(t.invocation)}; until read = 202 → the poller's GetRecords had it (its idle poll, or the previous batch still running); window = read → invocation; invocation = handler with its writes; load average ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`,
      },
    );
  }
  return { rows, data };
}
