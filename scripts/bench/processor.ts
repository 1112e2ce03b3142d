/**
 * Parts 3 and 4: our tutoring processor (the esbuild bundle that deploys) next
 * to the naive baseline, on the same Kinesis events, each against a fresh
 * table in the same in-process dynalite.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { tutoring } from '../../handlers/tutoring/family.js';
import { createGenerator } from '../generators/families.js';
import { median } from '../generators/stats.js';
import { startAlertSink, type AlertSink } from '../../local/alert-sink.js';
import { CREDENTIALS, REGION, createTable, scanAll, startDynalite, type CountingDynamo } from './engines.js';
import { batches, lambdaContext, toRecords } from './kinesis-events.js';
import { createNaiveTutoringHandler } from './naive-tutoring.js';
import { notAvailable, x, type PartResult } from './report.js';

const root = resolve(import.meta.dirname, '../..');
type Handler = (event: KinesisStreamEvent, context: unknown) => Promise<KinesisStreamBatchResponse | void>;

let importCounter = 0;
/** Imports a fresh copy of the bundle with the environment Lambda would give it. */
async function loadOurs(bundle: string, dynamo: CountingDynamo, sink: AlertSink, table: string): Promise<Handler> {
  Object.assign(process.env, {
    TABLE_NAME: table,
    EVENT_BUS_NAME: 'bench-alerts',
    FAMILY_NAME: 'tutoring',
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: sink.endpoint,
    POWERTOOLS_SERVICE_NAME: 'bench-tutoring',
    POWERTOOLS_METRICS_NAMESPACE: 'bench',
    // EMF lines on stdout would drown the bench output; the metric calls still run.
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  const mod = (await import(`${pathToFileURL(bundle).href}?bench=${++importCounter}`)) as { handler?: Handler };
  if (typeof mod.handler !== 'function') throw new Error(`${bundle} exports no handler`);
  return mod.handler;
}

/** Invokes like the event source mapping: a reported failure is retried from that record on. */
async function invokeAll(handler: Handler, events: KinesisStreamEvent[]): Promise<{ retries: number }> {
  let retries = 0;
  for (const event of events) {
    let records = event.Records;
    for (let attempt = 0; records.length > 0; attempt++) {
      const result = (await handler({ Records: records }, lambdaContext('bench-tutoring'))) ?? { batchItemFailures: [] };
      const failed = result.batchItemFailures ?? [];
      if (failed.length === 0) break;
      if (attempt >= 5) throw new Error(`batch still failing after ${attempt} retries`);
      retries += 1;
      const first = Math.min(...failed.map((f) => records.findIndex((r) => r.kinesis.sequenceNumber === f.itemIdentifier)).filter((i) => i >= 0));
      records = records.slice(Number.isFinite(first) ? first : 0);
    }
  }
  return { retries };
}

function naiveHandler(dynamo: CountingDynamo, sink: AlertSink, table: string) {
  const client = dynamo.client();
  let sdkRequests = 0;
  // SDK-side count, to cross-check the server-side one: runs once per HTTP attempt (after the retry middleware).
  client.middlewareStack.add(
    (next) => async (args) => {
      sdkRequests += 1;
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'benchRequestCounter' },
  );
  const eventBridge = new EventBridgeClient({ endpoint: sink.endpoint, region: REGION, credentials: CREDENTIALS });
  const handler = createNaiveTutoringHandler({ dynamo: client, eventBridge, table, busName: 'bench-alerts' });
  return { handler: handler as Handler, sdkRequests: () => sdkRequests };
}

async function ourBundle(): Promise<string> {
  const bundle = join(root, 'bench/tmp/handlers/tutoring/index.mjs');
  if (!existsSync(bundle)) {
    const { buildHandlers } = await import('../build.js');
    await buildHandlers({ outdir: join(root, 'bench/tmp/handlers'), families: ['tutoring'] });
  }
  return bundle;
}

export async function processorEfficiency(options: { events?: number; seed?: number } = {}): Promise<PartResult> {
  const n = options.events ?? 10_000;
  const generator = createGenerator('tutoring', { seed: options.seed ?? 42, epochMs: Date.now() - 6 * 3600_000, idPrefix: 'bench' });
  const bodies = Array.from({ length: n }, () => generator.next());
  const events = batches(toRecords(tutoring, bodies, 2), 100);
  const dynamo = await startDynalite();
  const sink = await startAlertSink();
  try {
    const admin = dynamo.client();
    await createTable(admin, 'bench-ours');
    await createTable(admin, 'bench-naive');
    const ours = await loadOurs(await ourBundle(), dynamo, sink, 'bench-ours');

    dynamo.reset();
    const alertsBefore = sink.entries.length;
    let t0 = performance.now();
    const oursRun = await invokeAll(ours, events);
    const oursMs = performance.now() - t0;
    const oursRequests = dynamo.total();
    const oursOps = Object.fromEntries(dynamo.counts);
    const oursAlerts = sink.entries.length - alertsBefore;
    const oursItems = (await scanAll(admin, 'bench-ours')).length;
    if (oursItems === 0) return notAvailable('3 processor efficiency', 'the tutoring processor wrote nothing to the table (first-cut handler?)');

    const naive = naiveHandler(dynamo, sink, 'bench-naive');
    dynamo.reset();
    const naiveAlertsBefore = sink.entries.length;
    t0 = performance.now();
    await invokeAll(naive.handler, events);
    const naiveMs = performance.now() - t0;
    const naiveRequests = dynamo.total();
    const naiveOps = Object.fromEntries(dynamo.counts);
    const naiveAlerts = sink.entries.length - naiveAlertsBefore;

    return {
      rows: [
        {
          part: '3 processor efficiency',
          measure: `${n.toLocaleString('en-US')} tutoring events: DynamoDB requests`,
          ours: oursRequests.toLocaleString('en-US'),
          baseline: naiveRequests.toLocaleString('en-US'),
          ratio: `${x(naiveRequests / oursRequests)} fewer`,
          notes: `counted at the dynalite server (SDK middleware on the baseline: ${naive.sdkRequests().toLocaleString('en-US')}); batches of 100 on 2 shards`,
        },
        {
          part: '3 processor efficiency',
          measure: `${n.toLocaleString('en-US')} tutoring events: wall time`,
          ours: `${(oursMs / 1000).toFixed(2)} s`,
          baseline: `${(naiveMs / 1000).toFixed(2)} s`,
          ratio: `${x(naiveMs / oursMs)} faster`,
          notes: `${Math.round(n / (oursMs / 1000)).toLocaleString('en-US')} vs ${Math.round(n / (naiveMs / 1000)).toLocaleString('en-US')} events/s; alerts ${oursAlerts} vs ${naiveAlerts} (baseline's counters never expire)`,
        },
      ],
      data: { events: n, ours: { ms: oursMs, requests: oursRequests, ops: oursOps, items: oursItems, alerts: oursAlerts, retries: oursRun.retries }, naive: { ms: naiveMs, requests: naiveRequests, sdkRequests: naive.sdkRequests(), ops: naiveOps, alerts: naiveAlerts } },
    };
  } finally {
    await sink.stop();
    await dynamo.close();
  }
}

export async function processorCpu(options: { seed?: number } = {}): Promise<PartResult> {
  const generator = createGenerator('tutoring', { seed: options.seed ?? 43, epochMs: Date.now() - 6 * 3600_000, idPrefix: 'cpu' });
  // One shard's records, as one invocation receives them.
  const shard = toRecords(tutoring, Array.from({ length: 9_000 }, () => generator.next()), 1).shards[0]!;
  const dynamo = await startDynalite();
  const sink = await startAlertSink();
  try {
    const admin = dynamo.client();
    await createTable(admin, 'cpu-ours');
    await createTable(admin, 'cpu-naive');
    const ours = await loadOurs(await ourBundle(), dynamo, sink, 'cpu-ours');
    const naive = naiveHandler(dynamo, sink, 'cpu-naive').handler;
    const rows = [];
    const data: Record<string, unknown> = {};
    let offset = 0;
    const slice = (size: number) => {
      const out = shard.slice(offset, offset + size);
      offset += size;
      return { Records: out };
    };
    // Warm both (client set-up, JIT) on a batch that is not timed.
    const warm = slice(100);
    await ours(warm, lambdaContext('bench'));
    await naive(warm, lambdaContext('bench'));
    for (const [size, runs] of [[100, 7], [1000, 3]] as const) {
      const oursRate: number[] = [];
      const naiveRate: number[] = [];
      for (let i = 0; i < runs; i++) {
        const batch = slice(size);
        let t0 = performance.now();
        await ours(batch, lambdaContext('bench'));
        oursRate.push(size / ((performance.now() - t0) / 1000));
        t0 = performance.now();
        await naive(batch, lambdaContext('bench'));
        naiveRate.push(size / ((performance.now() - t0) / 1000));
      }
      const o = median(oursRate);
      const b = median(naiveRate);
      data[`batch${size}`] = { ours: oursRate, naive: naiveRate };
      rows.push({
        part: '4 processor CPU',
        measure: `one invocation, batch of ${size.toLocaleString('en-US')}: records/s (median of ${runs})`,
        ours: Math.round(o).toLocaleString('en-US'),
        baseline: Math.round(b).toLocaleString('en-US'),
        ratio: `${x(o / b)} faster`,
        notes: 'dynalite in-process, warm handler',
      });
    }
    return { rows, data };
  } finally {
    await sink.stop();
    await dynamo.close();
  }
}
