/**
 * Redrive: applies the records a family's on-failure destination holds again,
 * through the family's own processor, and settles what it can.
 *
 * Exactly once in effect rests on the processor's own guarantees (claims and
 * fences, handlers/runtime): a record whose effects are in the table changes
 * nothing when applied again. Redrive adds what it needs to say what happened
 * and to never remove a record it cannot account for:
 * - before: a record whose idempotency claim already names it (or another
 *   record: a client retry) is "already applied" and is not sent again;
 * - after: a keyed record counts as redriven only when its claim now names
 *   it, a malformed one only when the malformed sink holds it; anything the
 *   processor reported failed, or the invocation failed, is "still failing"
 *   and stays in the destination with the new reason;
 * - a pointer-only object (no payload: what an SQS destination kept) is read
 *   back from the stream by its sequence range; when the stream no longer
 *   holds it, it is "expired" and stays until the destination's lifecycle
 *   removes it.
 * - a record the processor would skip because an item it touches already
 *   carries a fence at or above it for its shard (a later record of the same
 *   shard was applied to that item after it failed) is "still failing" with
 *   that reason and is not sent: the processor would skip it and it would look
 *   applied. This reads the runtime's fence layout (`hw` per shard,
 *   handlers/runtime/apply.ts). A fence cannot tell whether this record's own
 *   effect on that item landed before it failed, so such a record needs a
 *   person (README, "Failed records, retention and redrive").
 * An object is removed only when every record in it is settled; otherwise it
 * is rewritten with just the unsettled records (now with their payload) and a
 * `redrive` note (attempts, time, reason).
 */
import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { runtimeConfig } from '../../handlers/runtime/config.js';
import { decodeRecord, timeBoundsOf } from '../../handlers/runtime/envelope.js';
import type { FamilyDefinition } from '../../handlers/runtime/family.js';
import type { Route } from '../../handlers/runtime/records.js';
import { keyed } from '../../handlers/runtime/effect.js';
import { runtimeKeys } from '../../handlers/runtime/keys.js';
import { padSequence, shardIdOf } from '../../handlers/runtime/sequence.js';
import { payloadRecords, type FailureObject, type StoredFailure } from '../../local/failure-store.js';
import type { InvokeOutcome } from '../../local/invoker.js';
import type { FailureStore } from './store.js';
import { readSequenceRange } from './stream.js';

export type Verdict = 'redriven' | 'already_applied' | 'malformed' | 'still_failing' | 'expired';

export interface RecordResult {
  readonly key: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly verdict: Verdict;
  readonly reason?: string;
}

export interface RedriveReport {
  readonly family: string;
  readonly location: string;
  readonly dryRun: boolean;
  readonly objects: number;
  readonly objectsRemoved: number;
  readonly objectsKept: number;
  readonly counts: Readonly<Record<Verdict, number>>;
  readonly records: readonly RecordResult[];
}

export interface RedriveOptions {
  readonly family: FamilyDefinition;
  /** The family's route (handlers/<family>/handler.ts): which items a record touches, to see their fences. */
  readonly route?: Route<FamilyDefinition>;
  readonly store: FailureStore;
  /** Runs the family's processor (its bundle, its environment) on one event. */
  readonly invoke: (event: KinesisStreamEvent) => Promise<InvokeOutcome>;
  /** The table the processor writes, to read claims and the malformed sink. */
  readonly dynamo: DynamoDBClient;
  readonly tableName: string;
  /** For pointer-only objects; without it they count as expired. */
  readonly kinesis?: KinesisClient;
  /** Only objects whose failure happened at or after this time. */
  readonly since?: Date;
  /** Say what would happen; invoke nothing, change nothing. */
  readonly dryRun?: boolean;
  /** Records per invocation (the mapping's batch size). */
  readonly batchSize?: number;
  readonly now?: () => Date;
}

const VERDICTS: readonly Verdict[] = ['redriven', 'already_applied', 'malformed', 'still_failing', 'expired'];

interface Pending {
  record: KinesisStreamRecord;
  shardId: string;
  seq: string;
  /** The idempotency key, or null; undefined when the record does not decode (malformed). */
  key: string | null | undefined;
  malformedReason?: string;
  /** Items the record's effects write (valid records, when the route is known). */
  items: Array<{ pk: string; sk: string }>;
}

/** Item attributes by `pk\0sk`, read consistently (claims and malformed items are single-writer, so one read suffices). */
async function readItems(dynamo: DynamoDBClient, table: string, keys: ReadonlyArray<{ pk: string; sk: string }>): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  const unique = [...new Map(keys.map((k) => [`${k.pk}\u0000${k.sk}`, k])).values()];
  for (let i = 0; i < unique.length; i += 100) {
    let request: Record<string, { Keys: Array<Record<string, { S: string }>>; ConsistentRead: boolean }> | undefined = {
      [table]: { Keys: unique.slice(i, i + 100).map((k) => ({ pk: { S: k.pk }, sk: { S: k.sk } })), ConsistentRead: true },
    };
    for (let attempt = 0; request && Object.keys(request).length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
      const out = await dynamo.send(new BatchGetItemCommand({ RequestItems: request }));
      for (const item of out.Responses?.[table] ?? []) {
        const plain = Object.fromEntries(Object.entries(item).map(([name, v]) => [name, v.S ?? (v.N !== undefined ? Number(v.N) : v)]));
        found.set(`${plain.pk}\u0000${plain.sk}`, plain);
      }
      request = out.UnprocessedKeys as typeof request;
    }
  }
  return found;
}

/** The sequence numbers, from the first reported failure on, that the processor did not complete. */
function unfinished(outcome: InvokeOutcome, batch: readonly Pending[]): { from: number; reason: string } | undefined {
  if (outcome.error) return { from: 0, reason: `${outcome.error.errorType}: ${outcome.error.errorMessage}` };
  const failures = (outcome.result as { batchItemFailures?: Array<{ itemIdentifier?: string }> } | null | undefined)?.batchItemFailures ?? [];
  if (failures.length === 0) return undefined;
  const indexes = failures.map((f) => batch.findIndex((p) => p.record.kinesis.sequenceNumber === f.itemIdentifier));
  // An identifier that is not in the batch: Lambda treats the whole batch as failed.
  const from = indexes.some((i) => i < 0) ? 0 : Math.min(...indexes);
  return { from, reason: 'reported as a batch item failure (a dependency failure; see the processor log)' };
}

export async function redrive(options: RedriveOptions): Promise<RedriveReport> {
  const { family, store, dynamo, tableName } = options;
  const now = options.now ?? (() => new Date());
  const keys = runtimeKeys(family.name);
  const batchSize = Math.max(1, options.batchSize ?? 100);
  const results: RecordResult[] = [];
  let objects = 0;
  let removed = 0;
  let kept = 0;

  const stored = (await store.list()).filter((o) => !options.since || Date.parse(o.body.timestamp) >= options.since.getTime());
  for (const object of stored) {
    objects++;
    const result = (pending: Pending, verdict: Verdict, reason?: string) =>
      results.push({ key: object.key, shardId: pending.shardId, sequenceNumber: pending.record.kinesis.sequenceNumber, verdict, ...(reason ? { reason } : {}) });

    const held = payloadRecords(object.body) ?? (options.kinesis ? await readSequenceRange(options.kinesis, object.body) : undefined);
    if (!held) {
      const info = object.body.KinesisBatchInfo;
      for (let n = 0; n < info.batchSize; n++) {
        results.push({ key: object.key, shardId: info.shardId, sequenceNumber: n === 0 ? info.startSequenceNumber : `${info.startSequenceNumber}..${info.endSequenceNumber}`, verdict: 'expired', reason: 'no payload, and the stream no longer holds the range' });
      }
      kept++;
      continue;
    }

    const pending: Pending[] = held.map((record) => {
      const decoded = decodeRecord(family, record, timeBoundsOf(record, runtimeConfig().eventTimeToleranceSeconds * 1000));
      const shardId = shardIdOf(record.eventID);
      const context = { family: family.name, sequenceNumber: record.kinesis.sequenceNumber, shardId, partitionKey: record.kinesis.partitionKey, arrivalTime: timeBoundsOf(record, 0).referenceMs };
      let items: Array<{ pk: string; sk: string }> = [];
      try {
        if (decoded.ok && options.route) {
          items = options.route(decoded.event, { ...context, eventTime: decoded.eventTime, envelope: decoded.envelope }).map((effect) => {
            const { pk, sk } = keyed(family.name, effect);
            return { pk, sk };
          });
        }
      } catch {
        // The very records that reach the destination may be the ones the route throws on (a bug): the processor will say.
      }
      return {
        record,
        shardId,
        seq: padSequence(record.kinesis.sequenceNumber),
        key: decoded.ok ? (decoded.envelope.key ?? null) : undefined,
        ...(decoded.ok ? {} : { malformedReason: decoded.reason }),
        items,
      };
    });
    const claimKey = (p: Pending) => keys.claimKey(p.key!);
    const malformedKey = (p: Pending) => keys.malformedKey(p.shardId, p.seq);
    const lookup = async () =>
      readItems(dynamo, tableName, pending.flatMap((p) => (p.key ? [claimKey(p)] : p.key === undefined ? [malformedKey(p)] : [])));
    const id = (k: { pk: string; sk: string }) => `${k.pk}\u0000${k.sk}`;

    // Already applied: the claim exists (names this record, or an earlier one it is a client retry of),
    // or the malformed sink already holds it.
    const before = await lookup();
    const settledBefore = new Set<Pending>(pending.filter((p) => (p.key ? before.has(id(claimKey(p))) : p.key === undefined && before.has(id(malformedKey(p))))));
    const failing = new Map<Pending, string>();
    const fenced = await fencedOff(pending.filter((p) => !settledBefore.has(p)));
    for (const [p, reason] of fenced) failing.set(p, reason);
    const toApply = pending.filter((p) => !settledBefore.has(p) && !fenced.has(p));

    if (!options.dryRun) {
      for (let i = 0; i < toApply.length; i += batchSize) {
        const batch = toApply.slice(i, i + batchSize);
        const outcome = await options.invoke({ Records: batch.map((p) => p.record) });
        const cut = unfinished(outcome, batch);
        if (cut) {
          // Records of a shard stay in order: everything after the first failure is retried later too.
          for (const p of toApply.slice(i + cut.from)) failing.set(p, cut.reason);
          break;
        }
      }
    }
    const after = options.dryRun || toApply.length === 0 ? before : await lookup();
    if (options.dryRun) for (const p of fenced.keys()) failing.delete(p);

    const unsettled: Pending[] = [];
    for (const p of pending) {
      if (settledBefore.has(p)) {
        result(p, p.key === undefined ? 'malformed' : 'already_applied', p.key === undefined ? 'already in the malformed sink' : undefined);
        continue;
      }
      if (options.dryRun) {
        const reason = fenced.get(p);
        if (reason !== undefined) result(p, 'still_failing', reason);
        else result(p, p.key === undefined ? 'malformed' : 'redriven', 'dry run: would be applied');
        continue;
      }
      const reason = failing.get(p);
      if (reason !== undefined) {
        unsettled.push(p);
        result(p, 'still_failing', reason);
        continue;
      }
      if (p.key === undefined) {
        if (after.has(id(malformedKey(p)))) result(p, 'malformed', p.malformedReason);
        else {
          unsettled.push(p);
          result(p, 'still_failing', 'the processor returned success but the malformed sink does not hold the record');
        }
      } else if (p.key !== null) {
        const claim = after.get(id(claimKey(p)));
        if (claim && claim.seq === p.seq && claim.shard === p.shardId) result(p, 'redriven');
        else if (claim) result(p, 'already_applied', `client retry of ${String(claim.shard)}/${String(claim.seq).replace(/^0+/, '')}`);
        else {
          unsettled.push(p);
          result(p, 'still_failing', 'the processor returned success but wrote no claim for the record');
        }
      } else {
        // No idempotency key: the processor's success (its fences make a repeat harmless) is all there is to go by.
        result(p, 'redriven', 'no idempotency key: counted on the processor’s success');
      }
    }

    if (options.dryRun) continue;
    if (unsettled.length === 0) {
      await store.remove(object.key);
      removed++;
      continue;
    }
    kept++;
    await store.put(object.key, keepUnsettled(object, unsettled, failing, now()));
  }

  /** Records an item they touch is already fenced past for their shard: the processor would skip them. */
  async function fencedOff(candidates: readonly Pending[]): Promise<Map<Pending, string>> {
    const found = new Map<Pending, string>();
    const touched = candidates.flatMap((p) => p.items);
    if (touched.length === 0) return found;
    const items = await readItems(dynamo, tableName, touched);
    for (const p of candidates) {
      for (const k of p.items) {
        const hw = (items.get(`${k.pk}\u0000${k.sk}`)?.hw as { M?: Record<string, { M?: { seq?: { S?: string } } }> } | undefined)?.M ?? {};
        // One fence per shard (handlers/runtime/apply.ts); items written before that carry one per `<shard>|<partition key>`.
        const fence = Object.entries(hw)
          .filter(([name]) => name === p.shardId || name.startsWith(`${p.shardId}|`))
          .map(([, f]) => f.M?.seq?.S)
          .filter((seq): seq is string => seq !== undefined)
          .map(padSequence)
          .sort()
          .at(-1);
        if (fence !== undefined && fence >= p.seq) {
          found.set(p, `fenced: ${k.pk} ${k.sk} already holds a later record of its shard (${fence.replace(/^0+/, '')}); the processor would skip this one, so it is kept`);
          break;
        }
      }
    }
    return found;
  }

  const counts = Object.fromEntries(VERDICTS.map((v) => [v, results.filter((r) => r.verdict === v).length])) as Record<Verdict, number>;
  return { family: family.name, location: store.location, dryRun: Boolean(options.dryRun), objects, objectsRemoved: removed, objectsKept: kept, counts, records: results };
}

/** The object with only its unsettled records (with their payload, even if it had none) and the new reason. */
function keepUnsettled(object: StoredFailure, unsettled: readonly Pending[], failing: ReadonlyMap<Pending, string>, at: Date): FailureObject {
  const first = unsettled[0]!.record;
  const last = unsettled[unsettled.length - 1]!.record;
  const reason = failing.get(unsettled[0]!) ?? 'not settled';
  return {
    ...object.body,
    KinesisBatchInfo: {
      ...object.body.KinesisBatchInfo,
      startSequenceNumber: first.kinesis.sequenceNumber,
      endSequenceNumber: last.kinesis.sequenceNumber,
      approximateArrivalOfFirstRecord: new Date(first.kinesis.approximateArrivalTimestamp * 1000).toISOString(),
      approximateArrivalOfLastRecord: new Date(last.kinesis.approximateArrivalTimestamp * 1000).toISOString(),
      batchSize: unsettled.length,
    },
    payload: { Records: unsettled.map((p) => p.record) },
    redrive: { attempts: (object.body.redrive?.attempts ?? 0) + 1, lastAttemptAt: at.toISOString(), reason },
  };
}

const LABELS: Record<Verdict, string> = {
  redriven: 'redriven (applied now)',
  already_applied: 'already applied (nothing changed)',
  malformed: 'malformed (now in the malformed sink)',
  still_failing: 'still failing (kept, with the new reason)',
  expired: 'expired (pointer only, gone from the stream)',
};

/** The table the CLI prints. */
export function formatRedriveReport(reports: readonly RedriveReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${r.dryRun ? 'dry run: ' : ''}${r.family} from ${r.location}: ${r.objects} failure object(s)`);
    lines.push('| records | count |', '|---|---:|');
    for (const v of VERDICTS) lines.push(`| ${r.dryRun && v === 'redriven' ? 'would be redriven (dry run: nothing applied)' : LABELS[v]} | ${r.counts[v]} |`);
    lines.push(`| objects removed / kept | ${r.objectsRemoved} / ${r.objectsKept} |`);
    const reasons = [...new Set(r.records.filter((x) => x.verdict === 'still_failing').map((x) => x.reason))];
    for (const reason of reasons.slice(0, 5)) lines.push(`still failing because: ${reason}`);
  }
  return lines.join('\n');
}
