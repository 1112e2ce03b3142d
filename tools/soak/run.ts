/**
 * The soak: local mode with faults, N events across every family (5 % malformed,
 * half as bodies the API must refuse, half as records written straight to the
 * streams, as a buggy producer would), one restart of local mode in the middle,
 * quiescence, then reconciliation from the sender's own log. The `hot-keys`
 * profile sends tutoring sessions of N distinct students on one subject
 * instead (tools/soak/hot-keys.ts), with the same faults and restart; the
 * `mixed` profile interleaves the two.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { scanTable } from '../../local/aws.js';
import { FAMILIES } from '../generators/families.js';
import { Sender, sleep, type LogEntry, type SendItem } from '../generators/sender.js';
import { eventSource } from '../generators/source.js';
import { Prng } from '../generators/prng.js';
import { readFailureRecords } from '../../local/failure-store.js';
import { deploymentFor, loadStartLocal, quietOptions, readCheckpoints, seqGte, type LocalHandle } from '../bench/local.js';
import { hotKeySource, HOT_SUBJECT } from './hot-keys.js';
import { largestItem, itemSize, DYNAMODB_ITEM_LIMIT_BYTES } from './item-size.js';
import { reconcile, type Check, type DlqRecord, type ReconcileInput, type Reconciliation, type SunkAlert } from './reconcile.js';

export type SoakProfile = 'default' | 'hot-keys' | 'mixed';

/** Profiles that send the hot-key shape, so the shared subject's size is checked. */
const HOT_PROFILES: readonly SoakProfile[] = ['hot-keys', 'mixed'];

export interface SoakOptions {
  events: number;
  /**
   * `default`: every family mixed; `hot-keys`: one subject shared by N students' sessions;
   * `mixed`: the default events with a `hotFraction` of hot-key sessions interleaved.
   * @default 'default'
   */
  profile?: SoakProfile;
  /** In the `mixed` profile, the share of events drawn from the hot-key source. @default 0.2 */
  hotFraction?: number;
  seed?: number;
  malformed?: number;
  handlerCrashRate?: number;
  dynamoThrottleRate?: number;
  restart?: boolean;
  environment?: string;
  stateDir?: string;
  keepState?: boolean;
  quiescenceTimeoutMs?: number;
  concurrency?: number;
  batch?: number;
  progress?: (line: string) => void;
  /** Restart while phase 1 is still being processed (see the note at the restart). */
  /** Restart only once phase 1 is fully processed (default: restart while it is still being processed). */
  restartWhenIdle?: boolean;
  /** Return what was reconciled (tests tamper with it to prove the checks bite). */
  returnInputs?: boolean;
}

export interface SoakResult extends Reconciliation {
  stateDir: string;
  /** The largest item of the final table and, in the hot-keys profile, the shared subject, as DynamoDB counts size. */
  sizes: { largest?: { pk: string; sk: string; bytes: number }; shared?: { pk: string; sk: string; bytes: number; bound: number }; itemLimit: number };
  seconds: { send: number; drain: number; total: number };
  /**
   * Resident memory, MiB. This process hosts local mode (gateway, dynalite, pollers, and each
   * processor's sandbox as a worker thread): its peak sampled in each local-mode lifetime (before
   * and after the restart) and the kernel's peak for the whole run. kinesis-local runs as its own
   * process, started anew with each lifetime: the kernel's peak of each (VmHWM; Linux only).
   */
  memory: { peakRssMiBPerLifetime: number[]; maxRssMiB: number; kinesisPeakRssMiBPerLifetime: number[] };
  faults: { crashes?: number; throttled?: number; dynamoRequests?: number; failedInvocations?: number };
  inputs?: ReconcileInput;
}

type Local = LocalHandle & { kinesis: KinesisClient; dynamo: DynamoDBClient; stats?: () => Record<string, { failedInvocations: number }>; faultStats?: () => { requests: number; throttled: number } | undefined };


function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const t0 = Date.now();
  const say = options.progress ?? (() => {});
  const startLocal = await loadStartLocal();
  if (typeof startLocal === 'string') throw new Error(startLocal);
  const seed = options.seed ?? 7;
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'ef-soak-'));
  const deployment = await deploymentFor(options.environment ?? 'staging', true);
  const streams = new Map(deployment.families.map((f) => [f.family.name, f.stream.name]));
  const faults = { handlerCrashRate: options.handlerCrashRate ?? 0.02, dynamoThrottleRate: options.dynamoThrottleRate ?? 0.02, seed };
  const entries: LogEntry[] = [];
  const failedInvocations: number[] = [];
  const throttled: { requests: number; throttled: number }[] = [];
  let local: Local | undefined;
  let sendSeconds = 0;
  const peakRss: number[] = [];
  let rssTimer: NodeJS.Timeout | undefined;
  const start = async (clean: boolean) => {
    local = (await startLocal(quietOptions(stateDir, { clean, deployment, faults: { ...faults, seed: seed + (clean ? 0 : 1) } }))) as Local;
    const lifetime = peakRss.push(process.memoryUsage.rss()) - 1;
    clearInterval(rssTimer);
    rssTimer = setInterval(() => (peakRss[lifetime] = Math.max(peakRss[lifetime]!, process.memoryUsage.rss())), 1000).unref();
    say(`local mode up at ${local.apiUrl} (state ${stateDir})`);
  };
  const kinesisPeakRss: number[] = [];
  const recordStats = () => {
    if (!local) return;
    const kinesisPeak = kinesisPeakRssMiB(stateDir);
    if (kinesisPeak !== undefined) kinesisPeakRss.push(kinesisPeak);
    const stats = local.stats?.() ?? {};
    failedInvocations.push(Object.values(stats).reduce((n, s) => n + (s.failedInvocations ?? 0), 0));
    const f = local.faultStats?.();
    if (f) throttled.push(f);
  };

  try {
    await start(true);
    // The generators advance their clock by up to 2 s per event (1 s on average): start far enough back
    // that the last event is still in the past, inside the processors' future tolerance.
    const common = { seed, epochMs: Date.now() - Math.max(6 * 3600_000, options.events * 1100), idPrefix: `soak${seed}`, malformed: options.malformed ?? 0.05 };
    const source = sourceFor(options.profile ?? 'default', common, options.hotFraction ?? 0.2);
    // Every other malformed event skips the API and goes straight onto the stream.
    let malformedToggle = false;
    const direct: SendItem[] = [];
    const phases = options.restart === false ? [options.events] : [Math.floor(options.events / 2), options.events - Math.floor(options.events / 2)];
    for (const [phase, count] of phases.entries()) {
      let taken = 0;
      const next = (): SendItem | undefined => {
        for (;;) {
          if (taken >= count) return undefined;
          taken++;
          const item = source()!;
          if (item.raw !== undefined && (malformedToggle = !malformedToggle)) {
            direct.push(item);
            continue;
          }
          return item;
        }
      };
      const sender = new Sender({
        url: local!.apiUrl,
        apiKey: local!.apiKey,
        concurrency: options.concurrency ?? 2,
        batch: options.batch ?? 50,
        rate: 0,
        logPath: join(stateDir, 'sent.jsonl'),
        onEntry: (e) => entries.push(e),
      });
      const s0 = Date.now();
      const summary = await sender.run(next);
      sender.close();
      await writeDirect(local!, streams, direct.splice(0), entries, join(stateDir, 'sent.jsonl'));
      sendSeconds += (Date.now() - s0) / 1000;
      say(`phase ${phase + 1}: sent ${summary.sent} (${summary.accepted} accepted, ${summary.rejected} refused) in ${((Date.now() - s0) / 1000).toFixed(1)} s`);
      if (phase === 0 && phases.length > 1) {
        // The restart lands while phase 1 is still being processed: in-flight invocations are abandoned
        // uncheckpointed and must be redelivered without loss or double application.
        if (options.restartWhenIdle) await quiescent(stateDir, streams, entries, options.quiescenceTimeoutMs ?? 15 * 60_000, say);
        recordStats();
        await local!.stop();
        local = undefined;
        say('local mode stopped; restarting on the same state');
        await start(false);
      }
    }

    // Quiescence: every shard's checkpoint at or past the last accepted record on it.
    const d0 = Date.now();
    await quiescent(stateDir, streams, entries, options.quiescenceTimeoutMs ?? 15 * 60_000, say);
    // Alerts are published before the checkpoint moves; a short grace covers the sink's file append.
    await sleep(500);
    const drainSeconds = (Date.now() - d0) / 1000;
    recordStats();

    const items = await scanTable(local!.dynamo, deployment.tableName);
    const alerts = readJsonLines<SunkAlert>(join(stateDir, 'alerts.jsonl'));
    const dlq: DlqRecord[] = readFailureRecords(stateDir).map((f) => f.body);
    const inputs: ReconcileInput = { entries, items, alerts, dlq, streams };
    const result = reconcile(inputs);
    const sizes = itemSizes(items, options.profile ?? 'default', deployment.families.find((f) => f.family.name === 'tutoring')?.stream.shardCount ?? 1);
    result.checks.push(...sizeChecks(sizes));
    result.ok = result.checks.every((c) => c.ok);
    return {
      ...result,
      sizes,
      ...(options.returnInputs ? { inputs } : {}),
      stateDir,
      seconds: { send: sendSeconds, drain: drainSeconds, total: (Date.now() - t0) / 1000 },
      memory: { peakRssMiBPerLifetime: peakRss.map(mebibytes), maxRssMiB: mebibytes(process.resourceUsage().maxRSS * 1024), kinesisPeakRssMiBPerLifetime: kinesisPeakRss },
      faults: {
        failedInvocations: failedInvocations.reduce((a, b) => a + b, 0),
        throttled: throttled.reduce((a, b) => a + b.throttled, 0),
        dynamoRequests: throttled.reduce((a, b) => a + b.requests, 0),
      },
    };
  } finally {
    clearInterval(rssTimer);
    await local?.stop().catch(() => {});
    if (!options.keepState && !options.stateDir) rmSync(stateDir, { recursive: true, force: true });
  }
}

/** The kernel's peak resident memory of the running kinesis-local (its pid file is in the engine's data folder). */
function kinesisPeakRssMiB(stateDir: string): number | undefined {
  try {
    const pid = readFileSync(join(stateDir, 'kinesis', 'kinesis-local.pid'), 'utf8').trim();
    const peak = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return peak ? Math.round(Number(peak[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

function mebibytes(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}

function sourceFor(profile: SoakProfile, common: Parameters<typeof hotKeySource>[0], hotFraction: number): () => SendItem {
  const mixed = () => eventSource({ families: FAMILIES.map((f) => f.name), ...common });
  if (profile === 'default') return mixed() as () => SendItem;
  if (profile === 'hot-keys') return hotKeySource(common);
  const everyFamily = mixed();
  const hot = hotKeySource(common);
  const pick = new Prng(common.seed ^ 0x6d1c);
  return () => (pick.chance(hotFraction) ? hot() : everyFamily()!);
}

/**
 * The bound README's "Size bounds, in bytes per item" states for a shared
 * tutoring item: 8 KB + 30 KB per shard that wrote it within the fence
 * retention (fences, a full outbox per shard, keys, ≤ 30 day buckets),
 * whatever the number of partition keys. Read as 1,000-byte KB, the stricter.
 */
export function sharedTutoringItemBound(shards: number): number {
  return 8_000 + 30_000 * shards;
}

function itemSizes(items: Parameters<typeof largestItem>[0], profile: SoakProfile, shards: number): SoakResult['sizes'] {
  const largest = largestItem(items);
  if (!HOT_PROFILES.includes(profile)) return { ...(largest ? { largest } : {}), itemLimit: DYNAMODB_ITEM_LIMIT_BYTES };
  const subject = items.find((i) => i.pk?.S === `tutoring#subject#${HOT_SUBJECT}` && i.sk?.S === 'aggregate');
  const shared = subject ? { pk: subject.pk!.S!, sk: subject.sk!.S!, bytes: itemSize(subject), bound: sharedTutoringItemBound(shards) } : undefined;
  return { ...(largest ? { largest } : {}), ...(shared ? { shared } : {}), itemLimit: DYNAMODB_ITEM_LIMIT_BYTES };
}

function sizeChecks(sizes: SoakResult['sizes']): Check[] {
  const checks: Check[] = [];
  if (sizes.largest) {
    checks.push({
      check: `largest item, bytes as DynamoDB counts (${sizes.largest.pk} ${sizes.largest.sk.replace(/#0+(?=\d)/, '#')}; limit ${sizes.itemLimit.toLocaleString('en-US')})`,
      value: sizes.largest.bytes,
      ok: sizes.largest.bytes <= sizes.itemLimit,
    });
  }
  if (sizes.shared) {
    checks.push({
      check: `shared subject item, bytes (${sizes.shared.pk}; stated bound 8 KB + 30 KB × shards = ${sizes.shared.bound.toLocaleString('en-US')})`,
      value: sizes.shared.bytes,
      ok: sizes.shared.bytes <= sizes.shared.bound,
    });
  }
  return checks;
}

/** Waits until every shard's checkpoint is at or past the last accepted record on it. */
async function quiescent(stateDir: string, streams: Map<string, string>, entries: readonly LogEntry[], timeoutMs: number, say: (line: string) => void) {
  const last = new Map<string, string>();
  for (const e of entries) {
    if (!e.accepted) continue;
    const key = `${streams.get(e.family)}/${e.shardId}`;
    const prev = last.get(key);
    if (!prev || seqGte(e.sequenceNumber!, prev)) last.set(key, e.sequenceNumber!);
  }
  const deadline = Date.now() + timeoutMs;
  let behind = [...last.keys()];
  let lastReport = Date.now();
  while (Date.now() < deadline) {
    const cps = readCheckpoints(stateDir);
    behind = [...last].filter(([key, seq]) => !cps.get(key) || !seqGte(cps.get(key)!, seq)).map(([key]) => key);
    if (behind.length === 0) return;
    if (Date.now() - lastReport > 15_000) {
      lastReport = Date.now();
      say(`waiting for ${behind.length} shard(s) to catch up: ${behind.join(', ')}`);
    }
    await sleep(250);
  }
  throw new Error(`not quiescent after ${timeoutMs} ms: ${behind.join(', ')}`);
}

/** Malformed records written straight to a family's stream (bypassing the API's validation), 100 per PutRecords. */
async function writeDirect(local: Local, streams: Map<string, string>, items: SendItem[], entries: LogEntry[], logPath: string) {
  let n = 0;
  const byFamily = new Map<string, { item: SendItem; data: string; pk: string }[]>();
  for (const item of items) {
    n++;
    let data: string;
    try {
      // Valid JSON that breaks the schema goes in a proper envelope: the processor must reject the event itself.
      const parsed = JSON.parse(item.raw!) as unknown;
      data = JSON.stringify({ id: `direct-${n}-${Date.now()}`, family: item.family, key: null, receivedAt: Date.now(), sourceIp: '127.0.0.1', data: parsed });
    } catch {
      data = item.raw!;
    }
    const list = byFamily.get(item.family) ?? byFamily.set(item.family, []).get(item.family)!;
    list.push({ item, data, pk: `malformed-${n}` });
  }
  for (const [family, list] of byFamily) {
    for (let i = 0; i < list.length; i += 100) {
      let pending = list.slice(i, i + 100);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`direct PutRecords kept failing for ${family}`);
        const t = performance.now();
        const out = await local.kinesis.send(
          new PutRecordsCommand({ StreamName: streams.get(family)!, Records: pending.map((p) => ({ PartitionKey: p.pk, Data: Buffer.from(p.data) })) }),
        );
        const failed: typeof pending = [];
        pending.forEach((p, index) => {
          const r = out.Records?.[index];
          if (!r?.SequenceNumber) {
            failed.push(p);
            return;
          }
          const entry: LogEntry = {
            accepted: true,
            family,
            route: 'batch',
            id: p.pk,
            sequenceNumber: r.SequenceNumber,
            shardId: r.ShardId,
            status: 200,
            raw: p.item.raw,
            malformed: p.item.malformed,
            latencyMs: performance.now() - t,
            at: Date.now(),
          };
          entries.push(entry);
          // The sender's log holds these too, so a reconciliation can be redone from the file alone.
          appendFileSync(logPath, `${JSON.stringify(entry)}\n`);
        });
        pending = failed;
        if (pending.length > 0) await sleep(100 * 2 ** attempt);
      }
    }
  }
}
