/**
 * The shared Kinesis processor: decode and validate each record, then apply
 * the whole batch in one coalesced, idempotent pass (DESIGN.md sections 4-5).
 *
 * Why not Powertools' record handler for the work itself: BatchProcessor runs
 * one handler per record, independently (in parallel by default), while
 * exactly-once here needs the batch as a whole: all updates to one item
 * coalesced into one conditional write, records applied in shard order, and a
 * failure at record k failing k and every later record of its shard. So the
 * batch is computed first, and Powertools' BatchProcessor and
 * processPartialResponse then build the partial batch response from the
 * per-record outcomes (its contract, its `batchItemFailures` format).
 *
 * Exactly once in effect, without transactions:
 * - Fences: each item keeps, per lane (shard + partition key), the highest
 *   sequence number applied (`hw`). Records at or below it are skipped, so a
 *   redelivery, whole or from the checkpoint, changes nothing already done.
 *   The fence is checked in memory on an item read in the same pass, and the
 *   write is a PutItem conditioned on the version read: DESIGN.md's blind
 *   `UpdateItem ... hw < :maxSeq` would re-apply the older half of a batch
 *   that only partly overlaps an earlier delivery, and rolling windows need
 *   the stored buckets anyway. A lost race (another shard or lane wrote the
 *   item) re-reads and recomputes.
 * - Claims: a client idempotency key is claimed by the first sequence number
 *   that carries it; a later record with the same key is a client retry.
 * - Alerts: written into the item's `outbox` by the same PutItem, then sent.
 *   A per-lane cursor records what has been sent, so a failure between the
 *   write and PutEvents cannot lose an alert (the redelivery sends what the
 *   outbox holds) and a redelivery does not send one twice. Residual risk:
 *   the cursor write itself failing after a send (logged; a redelivery of
 *   those records would repeat their alerts; `alert_id` is deterministic).
 *
 * Per batch: 1 BatchGetItem per 100 distinct items (items, claims, the lanes'
 * alert cursor), 1 conditional PutItem per changed item, 1 BatchWriteItem per 25 new
 * idempotency claims, PutEvents per 10 alerts, 1 BatchWriteItem per 25 alert cursors.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { publishAlerts, type OutgoingAlert } from './alerts.js';
import type { Item, Json } from './attributes.js';
import { runtimeConfig, requiredEnv } from './config.js';
import { decodeRecord, type Envelope, type MalformedReason } from './envelope.js';
import { describeError, isDependencyFailure, WriteConflictError } from './errors.js';
import type { FamilyDefinition, FamilyEvent } from './family.js';
import { padSequence, shardIdOf } from './sequence.js';
import { batchGet, batchPut, getItem, keyId, putIfUnchanged, type Key } from './store.js';
import type { Alert, AlertDraft, Effect, RecordContext, State } from './types.js';

export type Route<F extends FamilyDefinition> = (event: FamilyEvent<F>, context: RecordContext) => Effect[];

export interface ProcessorOptions {
  dynamodb?: DynamoDBClient;
  eventBridge?: EventBridgeClient;
  logger?: Logger;
  metrics?: Metrics;
}

interface BaseRecord {
  record: KinesisStreamRecord;
  index: number;
  shardId: string;
  /** `<shardId>|<partitionKey>`: the unit Lambda keeps in order. */
  lane: string;
  /** Approximate arrival in the stream, epoch seconds. */
  arrival: number;
  /** Padded, so string order is numeric order. */
  seq: string;
  context: RecordContext;
  effects: Effect[];
}
interface ValidRecord extends BaseRecord {
  kind: 'valid';
  envelope: Envelope;
  key: string | null;
  duplicate: boolean;
}
interface MalformedRecord extends BaseRecord {
  kind: 'malformed';
  reason: MalformedReason;
  issues?: string;
}
type Decoded = ValidRecord | MalformedRecord;

/** Largest slice of a malformed record's raw data kept in its alert and item (EventBridge entries are ≤ 256 KiB). */
const RAW_DATA_LIMIT = 32 * 1024;
/** The runtime's own attributes on every item it writes; reducers never see them. */
const SYSTEM = new Set(['pk', 'sk', 'v', 'updated_at', 'hw', 'outbox']);
const isSystem = (name: string) => SYSTEM.has(name);

/**
 * Highest sequence number applied to an item from one lane. A lane is a
 * shard and partition key: Lambda keeps records of one partition key in
 * order even with a ParallelizationFactor above 1, when one shard's partition
 * keys are processed by concurrent invocations; a per-shard fence would then
 * skip another invocation's lower sequence numbers. `at` is the record's
 * arrival time (epoch seconds), used to prune idle lanes.
 */
interface Fence {
  seq: string;
  at: number;
}

/** An alert written with its item, sent after the write (the outbox). `seq` is padded. */
interface OutboxEntry {
  lane: string;
  seq: string;
  id: string;
  type: string;
  detail: string;
  at: number;
}

export function createProcessor<F extends FamilyDefinition>(family: F, route: Route<F>, options: ProcessorOptions = {}) {
  // Created on first use, like the clients: the environment (namespace, service, log level) is read then.
  let logger = options.logger;
  let metrics = options.metrics;
  const observability = () => {
    const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? `event-flow-${family.name}`;
    logger ??= new Logger({ serviceName });
    metrics ??= new Metrics({
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'event-flow',
      serviceName,
      defaultDimensions: { family: family.name },
    });
    return { logger, metrics };
  };
  // Created on first use so that tests (and local mode) can set endpoint variables after import.
  let dynamodb = options.dynamodb;
  let eventBridge = options.eventBridge;
  const clients = () => {
    const requestHandler = { connectionTimeout: 2_000, requestTimeout: 10_000 };
    dynamodb ??= new DynamoDBClient({ requestHandler });
    eventBridge ??= new EventBridgeClient({ requestHandler });
    return { dynamodb, eventBridge };
  };
  const cursorKey = (shardId: string, partitionKey: string): Key => ({ pk: `${family.name}#cursor#${shardId}`, sk: partitionKey });
  const claimKey = (key: string): Key => ({ pk: `${family.name}#claim#${key}`, sk: 'claim' });
  const malformedKey = (shardId: string, seq: string): Key => ({ pk: `${family.name}#malformed`, sk: `${shardId}#${seq}` });

  function decode(record: KinesisStreamRecord, index: number): Decoded {
    const shardId = shardIdOf(record.eventID);
    const seq = padSequence(record.kinesis.sequenceNumber);
    const arrival = Math.round((record.kinesis.approximateArrivalTimestamp ?? 0) * 1000);
    const base = { record, index, shardId, seq, lane: `${shardId}|${record.kinesis.partitionKey}`, arrival: Math.floor(arrival / 1000) };
    const result = decodeRecord(family, record);
    const context: RecordContext = {
      family: family.name,
      sequenceNumber: record.kinesis.sequenceNumber,
      shardId,
      partitionKey: record.kinesis.partitionKey,
      eventTime: result.ok ? result.eventTime : arrival,
      ...(result.ok ? { envelope: result.envelope } : {}),
    };
    if (result.ok) {
      return {
        ...base,
        kind: 'valid',
        context,
        envelope: result.envelope,
        key: result.envelope.key ?? null,
        duplicate: false,
        effects: route(result.event, context),
      };
    }
    const effect: Effect = {
      ...malformedKey(shardId, seq),
      apply(state) {
        const raw = record.kinesis.data ?? '';
        const kept = raw.slice(0, RAW_DATA_LIMIT);
        const details: Record<string, Json> = {
          reason: result.reason,
          issues: result.issues ?? null,
          sequence_number: record.kinesis.sequenceNumber,
          partition_key: record.kinesis.partitionKey,
          shard_id: shardId,
          approximate_arrival: arrival ? new Date(arrival).toISOString() : null,
          raw_data: kept,
          raw_data_truncated: kept.length < raw.length,
          raw_length: raw.length,
        };
        Object.assign(state, details);
        return [
          {
            alert_type: 'MalformedEvent',
            severity: 'warning',
            entity_type: 'kinesis_record',
            entity_id: `${shardId}/${record.kinesis.sequenceNumber}`,
            details,
            message: `Malformed ${family.name} record ${record.kinesis.sequenceNumber} (${result.reason})${result.issues ? `: ${result.issues}` : ''}`,
          },
        ];
      },
    };
    return { ...base, kind: 'malformed', context, reason: result.reason, ...(result.issues ? { issues: result.issues } : {}), effects: [effect] };
  }

  function toAlert(draft: AlertDraft, d: Decoded, effectIndex: number, n: number): Alert {
    return {
      alert_id: `${family.name}:${d.shardId}:${d.record.kinesis.sequenceNumber}:${effectIndex}:${n}`,
      family: family.name,
      timestamp: new Date(d.context.eventTime).toISOString(),
      ...draft,
      source: {
        sequence_number: d.record.kinesis.sequenceNumber,
        shard_id: d.shardId,
        partition_key: d.record.kinesis.partitionKey,
        ...(d.kind === 'valid' ? { request_id: d.envelope.id, idempotency_key: d.key } : {}),
      },
    };
  }

  async function processBatch(records: readonly KinesisStreamRecord[]) {
    const { logger } = observability();
    const config = runtimeConfig();
    const table = requiredEnv('TABLE_NAME');
    const busName = requiredEnv('EVENT_BUS_NAME');
    const { dynamodb, eventBridge } = clients();
    const now = new Date().toISOString();

    const decoded = records.map(decode);
    const lanes = new Map<string, { shardId: string; partitionKey: string; min: string; max: string }>();
    const shardMin = new Map<string, string>();
    let newestArrival = 0;
    for (const d of decoded) {
      const lane = lanes.get(d.lane);
      if (!lane) lanes.set(d.lane, { shardId: d.shardId, partitionKey: d.record.kinesis.partitionKey, min: d.seq, max: d.seq });
      else {
        if (d.seq < lane.min) lane.min = d.seq;
        if (d.seq > lane.max) lane.max = d.seq;
      }
      if (!shardMin.has(d.shardId) || d.seq < shardMin.get(d.shardId)!) shardMin.set(d.shardId, d.seq);
      newestArrival = Math.max(newestArrival, d.arrival);
    }
    // Fences and outbox entries of lanes idle for longer than a record can be redelivered are dropped.
    const pruneBefore = newestArrival - config.fenceRetentionSeconds;

    // Lowest failed sequence number per shard: that record and every later one of its shard in this batch fail.
    const failFrom = new Map<string, string>();
    const fail = (shardId: string, seq: string, why: unknown) => {
      const current = failFrom.get(shardId);
      if (current === undefined || seq < current) failFrom.set(shardId, seq);
      logger.error('records failed, retried from here', { shardId, sequenceNumber: seq.replace(/^0+(?=\d)/, ''), error: describeError(why) });
    };
    const isFailed = (shardId: string, seq: string) => {
      const from = failFrom.get(shardId);
      return from !== undefined && seq >= from;
    };

    // 1. One consistent read of everything the batch may touch.
    const keys = new Map<string, Key>();
    const addKey = (key: Key) => keys.set(keyId(key), { pk: key.pk, sk: key.sk });
    for (const lane of lanes.values()) addKey(cursorKey(lane.shardId, lane.partitionKey));
    for (const d of decoded) {
      for (const e of d.effects) addKey(e);
      if (d.kind === 'valid' && d.key !== null) addKey(claimKey(d.key));
    }
    let current: Map<string, Item>;
    try {
      current = await batchGet(dynamodb, table, [...keys.values()]);
    } catch (error) {
      if (!isDependencyFailure(error)) throw error;
      for (const [shardId, seq] of shardMin) fail(shardId, seq, error);
      return finish(decoded, failFrom, 0);
    }
    // How far each lane's alerts are known to be out: every alert of a record up to published_seq, plus
    // published_ids (`<seq>|<alert id>`) sent beyond it by a delivery that then failed at an earlier record.
    const cursor = new Map<string, string>();
    const sentBeyond = new Map<string, Map<string, string>>();
    for (const [name, lane] of lanes) {
      const item = current.get(keyId(cursorKey(lane.shardId, lane.partitionKey)));
      cursor.set(name, String(item?.published_seq ?? ''));
      const extra = new Map<string, string>();
      for (const entry of (item?.published_ids as string[] | undefined) ?? []) {
        const bar = entry.indexOf('|');
        extra.set(entry.slice(bar + 1), entry.slice(0, bar));
      }
      sentBeyond.set(name, extra);
    }

    // 2. Client idempotency: the first record to claim a key owns it; later ones with another sequence number are retries.
    const newClaims: Item[] = [];
    const claimOwner = new Map<string, Decoded>();
    const expiresAt = Math.floor(Date.now() / 1000) + config.claimTtlSeconds;
    for (const d of decoded) {
      if (d.kind !== 'valid' || d.key === null) continue;
      const claim = current.get(keyId(claimKey(d.key)));
      const owner = claimOwner.get(d.key);
      if (claim) d.duplicate = !(claim.seq === d.seq && claim.shard === d.shardId);
      else if (owner) d.duplicate = true;
      else {
        claimOwner.set(d.key, d);
        newClaims.push({ ...claimKey(d.key), seq: d.seq, shard: d.shardId, request_id: d.envelope.id, claimed_at: now, expiresAt });
      }
    }

    // 3. Coalesce: every effect on one item, in record order, becomes one write.
    type Entry = { d: Decoded; effect: Effect; effectIndex: number };
    const groups = new Map<string, { key: Key; entries: Entry[] }>();
    for (const d of decoded) {
      if (d.kind === 'valid' && d.duplicate) continue;
      d.effects.forEach((effect, effectIndex) => {
        const id = keyId(effect);
        const group = groups.get(id) ?? groups.set(id, { key: { pk: effect.pk, sk: effect.sk }, entries: [] }).get(id)!;
        group.entries.push({ d, effect, effectIndex });
      });
    }

    /** Pure: the item after this batch's fresh effects, the alerts they raise, and alerts still owed from the item's outbox. */
    function compute(key: Key, entries: Entry[], item: Item | undefined) {
      const state: State = {};
      if (item) for (const [name, value] of Object.entries(item)) if (!isSystem(name)) state[name] = structuredClone(value);
      const fences = new Map(Object.entries((item?.hw as Record<string, Fence> | undefined) ?? {}));
      const outbox = (item?.outbox as OutboxEntry[] | undefined) ?? [];
      // Written with the item on an earlier delivery but maybe never sent: owed if this batch redelivers its record.
      const owed: OutgoingAlert[] = [];
      const kept: OutboxEntry[] = [];
      for (const e of outbox) {
        const lane = lanes.get(e.lane);
        if (!lane) {
          if (e.at >= pruneBefore) kept.push(e);
          continue;
        }
        if (e.seq < lane.min || e.seq <= cursor.get(e.lane)!) continue;
        kept.push(e);
        if (e.seq <= lane.max && !sentBeyond.get(e.lane)!.has(e.id)) owed.push({ shardId: lane.shardId, lane: e.lane, seq: e.seq, id: e.id, type: e.type, detail: e.detail });
      }
      const fresh: Decoded[] = [];
      const raised: OutgoingAlert[] = [];
      for (const { d, effect, effectIndex } of entries) {
        const fence = fences.get(d.lane);
        if (fence !== undefined && d.seq <= padSequence(fence.seq)) continue; // applied on an earlier delivery
        const drafts = effect.apply(state, d.context) ?? [];
        drafts.forEach((draft, n) => {
          const alert = toAlert(draft, d, effectIndex, n);
          raised.push({ shardId: d.shardId, lane: d.lane, seq: d.seq, id: alert.alert_id, type: alert.alert_type, detail: JSON.stringify(alert), at: d.arrival });
        });
        fences.set(d.lane, { seq: d.record.kinesis.sequenceNumber, at: d.arrival });
        fresh.push(d);
      }
      if (fresh.length === 0) return { fresh, raised, owed, put: undefined };
      const put: Item = {};
      for (const [name, value] of Object.entries(state)) if (value !== undefined) put[name] = value;
      const hw: Record<string, Fence> = {};
      for (const [lane, fence] of fences) if (lanes.has(lane) || fence.at >= pruneBefore) hw[lane] = fence;
      const newEntries = raised.map(({ lane, seq, id, type, detail, at }) => ({ lane, seq, id, type, detail, at: at ?? 0 }));
      Object.assign(put, {
        pk: key.pk,
        sk: key.sk,
        v: (typeof item?.v === 'number' ? item.v : 0) + 1,
        updated_at: now,
        hw: hw as unknown as Json,
        outbox: [...kept, ...newEntries] as unknown as Json,
      });
      return { fresh, raised, owed, put };
    }

    const toPublish: OutgoingAlert[] = [];
    let writes = 0;
    async function writeGroup(group: { key: Key; entries: Entry[] }) {
      let item = current.get(keyId(group.key));
      let result = compute(group.key, group.entries, item);
      try {
        for (let attempt = 0; result.put; attempt++) {
          if (attempt >= config.maxWriteConflicts) throw new WriteConflictError(`${group.key.pk} kept changing under ${attempt} writes`);
          if (attempt > 0) {
            // Another invocation (another shard or lane) wrote this item since it was read: recompute on the fresh
            // copy, after a short jittered pause so that hot items (a subject every student touches) do not thrash.
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
            item = await getItem(dynamodb!, table, group.key);
            result = compute(group.key, group.entries, item);
            if (!result.put) break;
          }
          writes++;
          const version = typeof item?.v === 'number' ? item.v : undefined;
          if (await putIfUnchanged(dynamodb!, table, result.put, item ? (version ?? 0) : undefined)) break;
        }
        toPublish.push(...result.owed, ...result.raised);
      } catch (error) {
        if (!isDependencyFailure(error)) throw error;
        toPublish.push(...result.owed);
        for (const d of result.fresh) fail(d.shardId, d.seq, error);
      }
    }

    async function writeClaims() {
      if (newClaims.length === 0) return;
      const { failed, error } = await batchPut(dynamodb!, table, newClaims);
      if (error !== undefined && !isDependencyFailure(error)) throw error;
      for (const claim of failed) fail(String(claim.shard), String(claim.seq), error);
    }

    // 4. Write claims and items; writes to distinct items run in parallel.
    const queue = [...groups.values()];
    const workers = Array.from({ length: Math.min(config.writeConcurrency, queue.length) }, async () => {
      for (let group = queue.shift(); group; group = queue.shift()) await writeGroup(group);
    });
    await Promise.all([writeClaims(), ...workers]);

    // 5. Alerts of records that are fully applied, in record order; the lane cursors record what is out.
    const unique = new Map<string, OutgoingAlert>();
    for (const alert of toPublish) if (!isFailed(alert.shardId, alert.seq)) unique.set(alert.id, alert);
    let published = 0;
    if (unique.size > 0) {
      const results = await publishAlerts(eventBridge!, { busName, source: `event-flow.${family.name}`, attempts: config.alertAttempts }, [...unique.values()]);
      const sentByLane = new Map<string, OutgoingAlert[]>();
      for (const [shardId, r] of results) {
        if (r.failure) fail(shardId, r.failure.alert.seq, new Error(r.failure.error));
        published += r.published.length;
        for (const a of r.published) (sentByLane.get(a.lane) ?? sentByLane.set(a.lane, []).get(a.lane)!).push(a);
      }
      // Cursor items hold nothing else, so whole-item puts (25 per BatchWriteItem) replace them safely.
      const cursors: Item[] = [];
      for (const [name, sent] of sentByLane) {
        const lane = lanes.get(name)!;
        const from = failFrom.get(lane.shardId);
        let mark = cursor.get(name)!;
        for (const a of sent) if ((from === undefined || a.seq < from) && a.seq > mark) mark = a.seq;
        // Alerts already sent for records that will be redelivered: remembered by id so they are not sent again.
        const beyond = new Map([...sentBeyond.get(name)!].filter(([, seq]) => seq > mark));
        for (const a of sent) if (a.seq > mark) beyond.set(a.id, a.seq);
        cursors.push({
          ...cursorKey(lane.shardId, lane.partitionKey),
          published_seq: mark,
          published_ids: [...beyond].map(([id, seq]) => `${seq}|${id}`),
          expiresAt: newestArrival + config.fenceRetentionSeconds,
        });
      }
      const { failed, error } = await batchPut(dynamodb!, table, cursors);
      if (error !== undefined && !isDependencyFailure(error)) throw error;
      // Only costs precision: a redelivery of those records would send their alerts again.
      if (failed.length > 0) logger.warn('alert cursors not advanced', { lanes: failed.map((c) => c.sk), error: describeError(error) });
    }
    return finish(decoded, failFrom, published, writes);
  }

  function finish(decoded: Decoded[], failFrom: Map<string, string>, published: number, writes = 0) {
    const { logger, metrics } = observability();
    const failed = new Set<string>();
    let processed = 0;
    let malformed = 0;
    let duplicates = 0;
    for (const d of decoded) {
      const from = failFrom.get(d.shardId);
      if (from !== undefined && d.seq >= from) failed.add(d.record.kinesis.sequenceNumber);
      else if (d.kind === 'malformed') {
        malformed++;
        logger.warn('malformed record', { reason: d.reason, issues: d.issues, sequenceNumber: d.record.kinesis.sequenceNumber, partitionKey: d.record.kinesis.partitionKey });
      } else {
        processed++;
        if (d.duplicate) duplicates++;
      }
    }
    metrics.addMetric('ProcessedEvents', MetricUnit.Count, processed);
    metrics.addMetric('FailedEvents', MetricUnit.Count, failed.size);
    metrics.addMetric('MalformedEvents', MetricUnit.Count, malformed);
    metrics.addMetric('DuplicateEvents', MetricUnit.Count, duplicates);
    metrics.addMetric('AlertsPublished', MetricUnit.Count, published);
    logger.info('batch processed', { records: decoded.length, processed, failed: failed.size, malformed, duplicates, alertsPublished: published, itemWrites: writes });
    return { failed, processed, malformed, duplicates, published };
  }

  const batch = new BatchProcessor(EventType.KinesisDataStreams);

  async function handler(event: KinesisStreamEvent, context?: Context): Promise<KinesisStreamBatchResponse> {
    const { logger, metrics } = observability();
    if (context) logger.addContext(context);
    let outcome: Awaited<ReturnType<typeof processBatch>>;
    try {
      outcome = await processBatch(event.Records);
    } catch (error) {
      // A bug, not a dependency: the invocation fails and the mapping retries (and bisects) the whole batch.
      logger.error('batch crashed', { error: describeError(error), records: event.Records.length });
      metrics.addMetric('FailedEvents', MetricUnit.Count, event.Records.length);
      metrics.publishStoredMetrics();
      throw error;
    }
    try {
      // Outcomes are already decided for the whole batch; Powertools turns them into the partial batch response.
      const recordHandler = async (record: KinesisStreamRecord) => {
        if (outcome.failed.has(record.kinesis.sequenceNumber)) throw new Error(`record ${record.kinesis.sequenceNumber} failed; retry from it`);
      };
      return (await processPartialResponse(event, recordHandler, batch, {
        ...(context ? { context } : {}),
        throwOnFullBatchFailure: false,
      })) as KinesisStreamBatchResponse;
    } finally {
      metrics.publishStoredMetrics();
    }
  }

  return { handler, processBatch, observability };
}
