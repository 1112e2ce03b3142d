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
 * - Fences: each item keeps, per lane (shard + partition key), the highest
 *   sequence number applied (`hw`). Records at or below it are skipped, so a
 *   redelivery, whole or from the checkpoint, changes nothing already done.
 *   The fence is checked in memory on an item read in the same pass, and the
 *   write is a PutItem conditioned on the version read: a blind
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
 *
 * The phases, one module each: records.ts (decode, route to effects), lanes.ts
 * and failures.ts (the batch's lanes; failing a shard from a record on),
 * reads.ts (the one BatchGetItem, alert cursors), claims.ts (idempotency),
 * apply.ts (fences and outbox, pure), writes.ts (conditional writes, re-read on
 * conflict), publish.ts (alerts, then cursors), outcome.ts (metrics, failures).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { groupEffectsByItem } from './apply.js';
import type { Item } from './attributes.js';
import { resolveClaims } from './claims.js';
import { runtimeConfig, requiredEnv } from './config.js';
import { describeError, isDependencyFailure } from './errors.js';
import { failureTracker } from './failures.js';
import type { FamilyDefinition } from './family.js';
import { runtimeKeys } from './keys.js';
import { summarizeLanes } from './lanes.js';
import { reportOutcome } from './outcome.js';
import { publishAndAdvanceCursors } from './publish.js';
import { readAlertCursors, readBatchState } from './reads.js';
import { recordDecoder, type Route } from './records.js';
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
  const decode = recordDecoder(family, route, keys);

  async function processBatch(records: readonly KinesisStreamRecord[]) {
    const { logger, metrics } = observability();
    const config = runtimeConfig();
    const table = requiredEnv('TABLE_NAME');
    const busName = requiredEnv('EVENT_BUS_NAME');
    const { dynamodb, eventBridge } = clients();
    const now = new Date().toISOString();

    const decoded = records.map(decode);
    const { lanes, shardMin, newestArrival } = summarizeLanes(decoded);
    // Fences and outbox entries of lanes idle for longer than a record can be redelivered are dropped.
    const pruneBefore = newestArrival - config.fenceRetentionSeconds;
    const failures = failureTracker(logger);
    const { failFrom, fail } = failures;

    // 1. One consistent read of everything the batch may touch.
    let current: Map<string, Item>;
    try {
      current = await readBatchState(dynamodb, table, keys, decoded, lanes);
    } catch (error) {
      if (!isDependencyFailure(error)) throw error;
      for (const [shardId, seq] of shardMin) fail(shardId, seq, error);
      return reportOutcome(decoded, failFrom, 0, 0, { logger, metrics });
    }
    const cursors = readAlertCursors(keys, lanes, current);

    // 2. Client idempotency: marks client retries and collects the claims this batch makes.
    const newClaims = resolveClaims(decoded, current, keys, { now, claimTtlSeconds: config.claimTtlSeconds });

    // 3. Coalesce: every effect on one item, in record order, becomes one write.
    const groups = groupEffectsByItem(decoded);

    // 4. Write claims and items (conditional writes, re-read and recomputed on a lost race).
    const applyContext = { familyName: family.name, lanes, ...cursors, pruneBefore, now };
    const { toPublish, writes } = await writeBatch(groups, current, newClaims, applyContext, {
      dynamodb,
      table,
      maxWriteConflicts: config.maxWriteConflicts,
      writeConcurrency: config.writeConcurrency,
      fail,
    });

    // 5. Alerts of records that are fully applied, in record order; the lane cursors record what is out.
    const published = await publishAndAdvanceCursors(toPublish, { lanes, newestArrival, ...cursors }, failures, {
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
    return reportOutcome(decoded, failFrom, published, writes, { logger, metrics });
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
