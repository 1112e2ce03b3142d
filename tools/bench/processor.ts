/**
 * Parts 3 and 4: our tutoring processor (the esbuild bundle that deploys) next
 * to the naive baseline, on the same Kinesis events, each against a fresh
 * table in the same in-process dynalite.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { tutoring } from '../../handlers/tutoring/family.js';
import { createGenerator, FAMILIES, type Body } from '../generators/families.js';
import { median } from '../generators/stats.js';
import { startAlertSink, type AlertSink } from '../../local/alert-sink.js';
import { CREDENTIALS, REGION, createTable, scanAll, startDynalite } from './engines.js';
import { batches, lambdaContext, toRecords } from './kinesis-events.js';
import { createNaiveTutoringHandler } from './naive-tutoring.js';
import { startMemoryStore, type MemoryStore } from './memory-store.js';
import { notAvailable, x, type PartResult, type Row } from './report.js';

const root = resolve(import.meta.dirname, '../..');
type Handler = (event: KinesisStreamEvent, context: unknown) => Promise<KinesisStreamBatchResponse | void>;

let importCounter = 0;
/** Imports a fresh copy of the bundle with the environment Lambda would give it. */
async function loadOurs(bundle: string, dynamo: { endpoint: string }, sink: AlertSink, table: string, family = 'tutoring'): Promise<Handler> {
  Object.assign(process.env, {
    TABLE_NAME: table,
    EVENT_BUS_NAME: 'bench-alerts',
    FAMILY_NAME: family,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: sink.endpoint,
    POWERTOOLS_SERVICE_NAME: `bench-${family}`,
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

/** An SDK client of the bench's own for the baseline (the bundle carries its own SDK and builds its clients). */
function memoryClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: REGION, credentials: CREDENTIALS, requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) }) });
}

function naiveHandler(client: DynamoDBClient, sink: AlertSink, table: string) {
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

/** The bundles `npm run build` makes, built afresh into bench/tmp so that the figures are of this checkout. */
async function ourBundles(): Promise<Map<string, string>> {
  const { buildHandlers } = await import('../build/bundles.js');
  const reports = await buildHandlers({ outdir: join(root, 'bench/tmp/handlers') });
  return new Map(reports.map((r) => [r.family, join(root, r.file)]));
}

async function ourBundle(): Promise<string> {
  const bundle = join(root, 'bench/tmp/handlers/tutoring/index.mjs');
  if (!existsSync(bundle)) return (await ourBundles()).get('tutoring')!;
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

    const naive = naiveHandler(dynamo.client(), sink, 'bench-naive');
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

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Where self time goes in a CPU profile: by package (or source file) and by function, as shares of the samples that are not idle. */
export function summarizeProfile(profile: CpuProfile, n = 8): { byPackage: string[]; byFunction: string[] } {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const owner = (url: string) =>
    url.match(/node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/)?.[1] ??
    (/[\\/](handlers|scripts|local)[\\/]/.test(url) ? url.replace(/^.*?[\\/]((handlers|scripts|local)[\\/].*)$/, '$1') : url.startsWith('node:') ? 'node internals' : 'V8 / native');
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const f = frames.get(id)!;
    if (f.functionName === '(idle)' || f.functionName === '(program)') return;
    const t = profile.timeDeltas[i] ?? 0;
    total += t;
    const pkg = f.functionName === '(garbage collector)' ? 'garbage collector' : owner(f.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + t);
    const name = `${f.functionName || '(anonymous)'}${f.url ? ` ${f.url.split(/[\\/]/).slice(-2).join('/')}:${f.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + t);
  });
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${k} ${((100 * v) / total).toFixed(1)} %`);
  return { byPackage: top(byPackage), byFunction: top(byFunction) };
}

/** Profiles one family's processor (from source, memory store) in a child `node --cpu-prof` (processor-profile.ts). */
function profileFamily(family: string): { byPackage: string[]; byFunction: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-profile-'));
  try {
    execFileSync(process.execPath, ['--import', 'tsx', '--cpu-prof', '--cpu-prof-dir', dir, join(root, 'tools/bench/processor-profile.ts'), family, '4'], {
      cwd: root,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    // tsx's loader runs in a worker thread with a profile of its own: the main thread's is the largest.
    const file = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
    if (!file) throw new Error('no CPU profile written');
    return summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const BATCH_SIZES = [
  [100, 5],
  [1_000, 3],
  [10_000, 1],
] as const;

/**
 * Part 4: records/s of one warm invocation of each family's bundle, with the
 * store answering at once in the same process (memory-store.ts: loopback HTTP,
 * no database), so the figure is our code and the SDK's client side. The naive
 * tutoring baseline runs against the same store, alternating with ours.
 */
export async function processorCpu(options: { seed?: number } = {}): Promise<PartResult> {
  const store = await startMemoryStore();
  const sink = await startAlertSink();
  const rows: Row[] = [];
  const data: Record<string, unknown> = {};
  try {
    const bundles = await ourBundles();
    for (const family of FAMILIES) {
      const generator = createGenerator(family.name, { seed: options.seed ?? 43, epochMs: Date.now() - 6 * 3600_000, idPrefix: 'cpu' });
      const total = 100 + BATCH_SIZES.reduce((a, [size, runs]) => a + size * (runs + (size === 1_000 ? 1 : 0)), 0);
      // One shard's records, as one invocation receives them.
      const shard = toRecords(family, Array.from({ length: total }, () => generator.next()), 1).shards[0]!;
      let offset = 0;
      const slice = (size: number): KinesisStreamEvent => {
        const out = shard.slice(offset, offset + size);
        offset += size;
        return { Records: out };
      };
      store.clear();
      const ours = await loadOurs(bundles.get(family.name)!, { endpoint: store.endpoint }, sink, 'cpu', family.name);
      const naive = family.name === 'tutoring' ? naiveHandler(memoryClient(store.endpoint), sink, 'cpu-naive').handler : undefined;
      // Warm both (client set-up, JIT) on a batch that is not timed.
      const warm = slice(100);
      await ours(warm, lambdaContext('bench'));
      await naive?.(warm, lambdaContext('bench'));
      const familyData: Record<string, unknown> = {};
      for (const [size, runs] of BATCH_SIZES) {
        const oursRate: number[] = [];
        const oursCpu: number[] = [];
        const storeShare: number[] = [];
        const naiveRate: number[] = [];
        let oursRequests = 0;
        for (let i = 0; i < runs; i++) {
          const batch = slice(size);
          store.reset();
          const c0 = process.cpuUsage();
          let t0 = performance.now();
          const response = await ours(batch, lambdaContext('bench'));
          const ms = performance.now() - t0;
          const cpu = process.cpuUsage(c0);
          if (response && response.batchItemFailures.length > 0) throw new Error(`${family.name}: ${response.batchItemFailures.length} records failed against the memory store`);
          oursRate.push(size / (ms / 1000));
          oursCpu.push((cpu.user + cpu.system) / 1000);
          storeShare.push(store.capacity.busyMs / ms);
          // Ours only: the baseline below uses the same store.
          oursRequests = [...store.capacity.requests.values()].reduce((a, b) => a + b, 0);
          // Not at 10,000: the baseline would take about 100 s of a shared machine for one figure.
          if (naive && size <= 1_000) {
            t0 = performance.now();
            await naive(batch, lambdaContext('bench'));
            naiveRate.push(size / ((performance.now() - t0) / 1000));
          }
        }
        const withBaseline = naive !== undefined && naiveRate.length > 0;
        const o = median(oursRate);
        const requests = oursRequests;
        familyData[`batch${size}`] = { ours: oursRate, oursCpuMs: oursCpu, storeShare, naive: naiveRate, requestsLastRun: requests };
        rows.push({
          part: '4 processor CPU',
          measure: `${family.name}: one warm invocation, batch of ${size.toLocaleString('en-US')}: records/s (median of ${runs})`,
          ours: Math.round(o).toLocaleString('en-US'),
          baseline: withBaseline ? Math.round(median(naiveRate)).toLocaleString('en-US') : '—',
          ratio: withBaseline ? `${x(o / median(naiveRate))} faster` : '—',
          notes:
            `store answering instantly in-process (memory store over loopback HTTP: our code + SDK client, not a database; the store's own share ${(100 * median(storeShare)).toFixed(0)} %); ` +
            `${requests} requests (last run); CPU ${median(oursCpu).toFixed(0)} ms per invocation${withBaseline ? '; baseline: the seeds\' algorithm, same store' : ''}`,
        });
      }
      const profile = profileFamily(family.name);
      familyData.profile = profile;
      rows.push({
        part: '4 processor CPU',
        measure: `${family.name}: CPU profile, 4 warm invocations of 1,000, self time by package`,
        ours: profile.byPackage.slice(0, 6).join('; '),
        baseline: '—',
        ratio: '—',
        notes: `node --cpu-prof of the processor from source against the memory store; top functions: ${profile.byFunction.slice(0, 5).join("; ")}; load average ${loadavg()[0]!.toFixed(2)}`,
      });
      data[family.name] = familyData;
    }
    return { rows, data };
  } finally {
    await sink.stop();
    await store.stop();
  }
}

/** The same events with every student drawn uniformly from the students the generator knows, instead of its skew. */
export function uniformStudents(bodies: readonly Body[], seed: number): Body[] {
  const ids = [...new Set(bodies.map((b) => (b.payload as { student_id?: string } | undefined)?.student_id).filter((id): id is string => id !== undefined))].sort();
  let state = seed >>> 0;
  // mulberry32: a small seeded PRNG, so the uniform run is reproducible.
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return bodies.map((body) => {
    const payload = body.payload as Record<string, unknown> | undefined;
    if (!payload || typeof payload.student_id !== 'string') return body;
    return { ...body, payload: { ...payload, student_id: ids[Math.floor(next() * ids.length)]! } };
  });
}

interface CapacityFigures {
  readUnits: number;
  writeUnits: number;
  requests: number;
  ops: Record<string, number>;
  batches: number;
}

async function billed(store: MemoryStore, handler: Handler, events: KinesisStreamEvent[]): Promise<CapacityFigures> {
  store.reset();
  await invokeAll(handler, events);
  const { readUnits, writeUnits, requests } = store.capacity;
  return { readUnits, writeUnits, requests: [...requests.values()].reduce((a, b) => a + b, 0), ops: Object.fromEntries(requests), batches: events.length };
}

/** Round trips an invocation waits for one after another (memory-store.ts `depth()`), median over the batches. */
async function criticalPath(store: MemoryStore, handler: Handler, events: KinesisStreamEvent[], latencyMs: number): Promise<number> {
  store.setLatency(latencyMs);
  try {
    const depths: number[] = [];
    for (const event of events) {
      store.reset();
      await invokeAll(handler, [event]);
      depths.push(store.depth());
    }
    return median(depths);
  } finally {
    store.setLatency(0);
  }
}

const perThousand = (value: number, events: number) => (1000 * value) / events;
const fmtUnits = (value: number) => value.toLocaleString('en-US', { maximumFractionDigits: 0 });

/**
 * Part 3b: what DynamoDB would bill for 10,000 tutoring events (read and write
 * capacity units, charged by memory-store.ts as DynamoDB charges them; dynalite
 * reports none), ours against the seeds' algorithm, on the generator's skewed
 * students and on uniform ones; item sizes; requests per batch and the round
 * trips a batch waits for one after another (its critical path).
 */
export async function processorCapacity(options: { events?: number; seed?: number; latencyMs?: number } = {}): Promise<PartResult> {
  const n = options.events ?? 10_000;
  const latencyMs = options.latencyMs ?? 20;
  const generator = createGenerator('tutoring', { seed: options.seed ?? 42, epochMs: Date.now() - 6 * 3600_000, idPrefix: 'capacity' });
  const skewed = Array.from({ length: n }, () => generator.next());
  // More of the same stream for the critical-path probe: 3 batches of one shard.
  const probe = batches(toRecords(tutoring, Array.from({ length: 300 }, () => generator.next()), 1), 100);
  const store = await startMemoryStore();
  const sink = await startAlertSink();
  const rows: Row[] = [];
  const data: Record<string, unknown> = {};
  try {
    const bundle = await ourBundle();
    for (const [keys, bodies] of [
      ['skewed', skewed],
      ['uniform', uniformStudents(skewed, options.seed ?? 42)],
    ] as const) {
      store.clear();
      const events = batches(toRecords(tutoring, bodies, 2), 100);
      const ours = await loadOurs(bundle, store, sink, `capacity-${keys}`);
      const naive = naiveHandler(memoryClient(store.endpoint), sink, `capacity-naive-${keys}`).handler;
      const o = await billed(store, ours, events);
      const b = await billed(store, naive, events);
      const sizes = (prefix: string) => {
        const list = store.sizesOf(prefix).sort((a, c) => a - c);
        return { median: list[Math.floor(list.length / 2)] ?? 0, max: list.at(-1) ?? 0, items: list.length };
      };
      const oursSizes = sizes('tutoring#');
      const naiveSizes = sizes('naive#');
      const figures: Record<string, unknown> = { ours: o, naive: b, sizes: { ours: oursSizes, naive: naiveSizes } };
      const units = (f: CapacityFigures) => f.readUnits + f.writeUnits;
      rows.push(
        {
          part: '3b DynamoDB capacity',
          measure: `tutoring, ${keys} students: read / write capacity units per 1,000 events`,
          ours: `${fmtUnits(perThousand(o.readUnits, n))} / ${fmtUnits(perThousand(o.writeUnits, n))}`,
          baseline: `${fmtUnits(perThousand(b.readUnits, n))} / ${fmtUnits(perThousand(b.writeUnits, n))}`,
          ratio: `${x(units(o) / units(b))} of its units (${x(o.readUnits / b.readUnits)} / ${x(o.writeUnits / b.writeUnits)})`,
          notes: `${n.toLocaleString('en-US')} events, batches of 100 on 2 shards; billed as DynamoDB bills (memory-store.ts): ours reads consistently (1 unit per 4 KB), the baseline eventually (½); writes 1 unit per 1 KB of the larger of old and new item`,
        },
        {
          part: '3b DynamoDB capacity',
          measure: `tutoring, ${keys} students: requests per 1,000 events / per batch of 100`,
          ours: `${fmtUnits(perThousand(o.requests, n))} / ${(o.requests / o.batches).toFixed(1)}`,
          baseline: `${fmtUnits(perThousand(b.requests, n))} / ${(b.requests / b.batches).toFixed(1)}`,
          ratio: `${x(o.requests / b.requests)} of its requests`,
          notes: `ours ${Object.entries(o.ops).map(([op, c]) => `${op} ${c}`).join(', ')}; baseline ${Object.entries(b.ops).map(([op, c]) => `${op} ${c}`).join(', ')}`,
        },
        {
          part: '3b DynamoDB capacity',
          measure: `tutoring, ${keys} students: item size, median / largest (items)`,
          ours: `${oursSizes.median} / ${oursSizes.max.toLocaleString('en-US')} B (${oursSizes.items.toLocaleString('en-US')})`,
          baseline: `${naiveSizes.median} / ${naiveSizes.max.toLocaleString('en-US')} B (${naiveSizes.items.toLocaleString('en-US')})`,
          ratio: `${x(oursSizes.max / naiveSizes.max)} largest`,
          notes: 'ours: aggregates (daily buckets, fences, outbox), idempotency claims and alert cursors; the baseline: counters only (windows that never expire)',
        },
      );
      if (keys === 'skewed') {
        const oursPath = await criticalPath(store, ours, probe, latencyMs);
        // The baseline awaits every request before the next (naive-tutoring.ts): its critical path is all of them.
        const naivePath = b.requests / b.batches;
        figures.criticalPath = { ours: oursPath, naive: naivePath, latencyMs };
        rows.push({
          part: '3b DynamoDB capacity',
          measure: 'tutoring: round trips a batch of 100 waits for one after another (critical path)',
          ours: oursPath.toFixed(1),
          baseline: naivePath.toFixed(1),
          ratio: `${x(oursPath / naivePath)} of its`,
          notes: `ours: the longest chain of requests each sent after the previous was answered, every answer ${latencyMs} ms late, median of 3 batches of one shard (memory-store.ts); the baseline awaits each request before the next, so all its requests per batch`,
        });
      }
      data[keys] = figures;
    }
    return { rows, data };
  } finally {
    await sink.stop();
    await store.stop();
  }
}
