/**
 * The shared Kinesis processor: decode and validate each record, then apply
 * the whole batch in one coalesced, idempotent pass (ARCHITECTURE.md, 5 exactly-once).
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
 * - Fences: each item keeps, per shard, the highest sequence number applied
 *   (`hw`). With ParallelizationFactor 1 (the module refuses more) Lambda runs
 *   one batch per shard at a time, in order, and retries from the first failed
 *   record, so records at or below the fence were applied and are skipped: a
 *   redelivery, whole or from the checkpoint, changes nothing already done.
 *   One fence per shard keeps an item's size independent of how many partition
 *   keys (students, customers) write it. The write is a PutItem conditioned on
 *   the version read; a lost race (another shard wrote the item) re-reads and
 *   recomputes.
 * - Poison first: every item the batch changes is computed before anything is
 *   written; a record that can never be applied (a key or item over DynamoDB's
 *   limits, a value out of range, an event time out of bounds) is sent to the
 *   malformed sink and the batch is computed again without it, so it never
 *   fails or delays its neighbours.
 * - Claims: a client idempotency key is claimed by the first sequence number
 *   that carries it, written only after every effect of that record is; a later
 *   record with the same key and body is a client retry, with another body an
 *   idempotency conflict (malformed sink, IdempotencyConflict alert, metric).
 * - Alerts: written into the item's `outbox` by the same PutItem, then sent.
 *   A per-shard cursor records what has been sent, so a failure between the
 *   write and PutEvents cannot lose an alert (the redelivery sends what the
 *   outbox holds) and a redelivery does not send one twice. Residual risk:
 *   the cursor write itself failing after a send (logged; a redelivery of
 *   those records would repeat their alerts; `alert_id` is deterministic).
 *
 * Per batch: 1 BatchGetItem per 100 distinct items (items, claims, the shards'
 * alert cursors), 1 conditional PutItem per changed item, 1 BatchWriteItem per 25 new
 * idempotency claims, PutEvents per 10 alerts, 1 BatchWriteItem per 25 alert cursors
 * (a batch holding poison records is read and computed once more without them).
 *
 * The phases, one module each: records.ts (decode, bounds, route to effects), shards.ts
 * and failures.ts (the batch's shards; failing a shard from a record on),
 * reads.ts (the one BatchGetItem, alert cursors), claims.ts (idempotency),
 * apply.ts (fences, outbox and size limits, pure), writes.ts (computed first, then
 * conditional writes, re-read on conflict), publish.ts (alerts, then cursors),
 * outcome.ts (metrics, failures).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { groupEffectsByItem } from './apply.js';
import type { Item } from './attributes.js';
import { runtimeConfig, requiredEnv } from './config.js';
import { resolveClaims, writeClaims } from './claims.js';
import { describeError, isDependencyFailure } from './errors.js';
import { failureTracker } from './failures.js';
import type { FamilyDefinition } from './family.js';
import { runtimeKeys } from './keys.js';
import { addOutcome, emptyOutcome, reportOutcome, type Outcome } from './outcome.js';
import { publishAndAdvanceCursors } from './publish.js';
import { readAlertCursors, readBatchState } from './reads.js';
import { recordDecoder, type Decoded, type PoisonMark, type Route } from './records.js';
import { summarizeShards } from './shards.js';
import { writeBatch } from './writes.js';

export type { Route } from './records.js';

export interface ProcessorOptions {
  dynamodb?: DynamoDBClient;
  eventBridge?: EventBridgeClient;
  logger?: Logger;
  metrics?: Metrics;
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
    // Without throwOnRequestTimeout the SDK only logs a warning and keeps waiting.
    const requestHandler = { connectionTimeout: 2_000, requestTimeout: runtimeConfig().dependencyTimeoutMs, throwOnRequestTimeout: true };
    dynamodb ??= new DynamoDBClient({ requestHandler });
    eventBridge ??= new EventBridgeClient({ requestHandler });
    return { dynamodb, eventBridge };
  };
  const keys = runtimeKeys(family.name);

  /**
   * Passes over the batch until every record has an outcome. A pass that finds poison records writes nothing and
   * the next leaves them out (a batch of n records needs at most n + 1 such passes); records a pass deferred (an
   * item's outbox was full) are run again once that pass's alerts are out.
   */
  async function processBatch(records: readonly KinesisStreamRecord[]) {
    const poisoned = new Map<string, PoisonMark>();
    const outcome = emptyOutcome();
    let pending = records;
    for (let pass = 0; pending.length > 0; pass++) {
      if (pass > 2 * records.length + 1) throw new Error(`no progress after ${pass} passes over ${records.length} records`);
      const result = await processPass(pending, poisoned, outcome);
      for (const [d, mark] of result.poison) poisoned.set(d.record.kinesis.sequenceNumber, mark);
      pending = result.pending;
    }
    return reportOutcome(outcome, records.length, observability());
  }

  /** One pass: what it decided is added to `outcome`; returns the poison it found and the records still pending. */
  async function processPass(records: readonly KinesisStreamRecord[], poisoned: ReadonlyMap<string, PoisonMark>, outcome: Outcome) {
    const { logger } = observability();
    const config = runtimeConfig();
    const table = requiredEnv('TABLE_NAME');
    const busName = requiredEnv('EVENT_BUS_NAME');
    const { dynamodb, eventBridge } = clients();
    const now = new Date().toISOString();
    const decode = recordDecoder(family, route, keys, { futureToleranceMs: config.eventTimeToleranceSeconds * 1000 });

    let decoded: Decoded[] = records.map((r, i) => decode(r, i, poisoned.get(r.kinesis.sequenceNumber)));
    const { shards, newestArrival } = summarizeShards(decoded);
    // Fences and outbox entries of shards idle for longer than a record can be redelivered are dropped.
    const pruneBefore = newestArrival - config.fenceRetentionSeconds;
    const failures = failureTracker(logger);
    const { failFrom, fail } = failures;
    const done = (published: number, writes: number) => {
      const rerun = failures.rerunFrom();
      const again = (d: Decoded) => rerun.has(d.shardId) && d.seq >= rerun.get(d.shardId)!;
      addOutcome(outcome, decoded.filter((d) => !again(d)), failFrom, published, writes, logger);
      return { poison: new Map<Decoded, PoisonMark>(), pending: decoded.filter(again).map((d) => d.record) };
    };

    // 1. One consistent read of everything the batch may touch.
    let current: Map<string, Item>;
    try {
      current = await readBatchState(dynamodb, table, keys, decoded, shards);
    } catch (error) {
      if (!isDependencyFailure(error)) throw error;
      for (const [shardId, range] of shards) fail(shardId, range.min, error);
      return done(0, 0);
    }
    const cursors = readAlertCursors(keys, shards, current);

    // 2. Client idempotency: marks client retries; a reused key with another body is not applied but reported.
    const { newClaims, conflicts } = resolveClaims(decoded, current, keys, { now, claimTtlSeconds: config.claimTtlSeconds });
    if (conflicts.size > 0) decoded = decoded.map((d) => (d.kind === 'valid' && conflicts.has(d) ? decode(d.record, d.index, conflicts.get(d)) : d));

    // 3. Coalesce: every effect on one item, in record order, becomes one write.
    const groups = groupEffectsByItem(decoded);

    // 4. Compute every item, then write them (conditional writes, re-read and recomputed on a lost race).
    const applyContext = { familyName: family.name, shards, ...cursors, pruneBefore, now, maxAlertsPerItem: config.maxAlertsPerItem };
    const { toPublish, writes, poison } = await writeBatch(groups, current, applyContext, {
      dynamodb,
      table,
      maxWriteConflicts: config.maxWriteConflicts,
      writeConcurrency: config.writeConcurrency,
      failures,
    });
    if (poison.size > 0) {
      for (const [d, mark] of poison) logger.warn('poison record, sent to the malformed sink', { reason: mark.reason, issues: mark.issues, sequenceNumber: d.record.kinesis.sequenceNumber });
      return { poison, pending: records };
    }

    // 5. Claims, only of records whose effects are all written.
    await writeClaims(dynamodb, table, newClaims, failures);

    // 6. Alerts of records that are fully applied, in record order; the shard cursors record what is out.
    const published = await publishAndAdvanceCursors(toPublish, { shards, newestArrival, ...cursors }, failures, {
      dynamodb,
      eventBridge,
      table,
      busName,
      familyName: family.name,
      alertAttempts: config.alertAttempts,
      fenceRetentionSeconds: config.fenceRetentionSeconds,
      keys,
      logger,
    });
    return done(published, writes);
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
