import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { publishAlerts, type OutgoingAlert } from './alerts.js';
import type { Item } from './attributes.js';
import { describeError, isDependencyFailure } from './errors.js';
import type { Failures } from './failures.js';
import type { RuntimeKeys } from './keys.js';
import type { LaneRange } from './lanes.js';
import type { AlertCursors } from './reads.js';
import { batchPut } from './store.js';

export interface PublishOptions {
  dynamodb: DynamoDBClient;
  eventBridge: EventBridgeClient;
  table: string;
  busName: string;
  familyName: string;
  alertAttempts: number;
  fenceRetentionSeconds: number;
  keys: RuntimeKeys;
  logger: Logger;
}

/**
 * Alerts of records that are fully applied, in record order; the lane cursors record what is out.
 * Returns how many alerts were published.
 */
export async function publishAndAdvanceCursors(
  toPublish: readonly OutgoingAlert[],
  batch: { lanes: ReadonlyMap<string, LaneRange>; newestArrival: number } & AlertCursors,
  failures: Failures,
  options: PublishOptions,
): Promise<number> {
  const { lanes, newestArrival, cursor, sentBeyond } = batch;
  const { failFrom, fail, isFailed } = failures;
  const unique = new Map<string, OutgoingAlert>();
  for (const alert of toPublish) if (!isFailed(alert.shardId, alert.seq)) unique.set(alert.id, alert);
  let published = 0;
  if (unique.size > 0) {
    const results = await publishAlerts(
      options.eventBridge,
      { busName: options.busName, source: `event-flow.${options.familyName}`, attempts: options.alertAttempts },
      [...unique.values()],
    );
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
        ...options.keys.cursorKey(lane.shardId, lane.partitionKey),
        published_seq: mark,
        published_ids: [...beyond].map(([id, seq]) => `${seq}|${id}`),
        expiresAt: newestArrival + options.fenceRetentionSeconds,
      });
    }
    const { failed, error } = await batchPut(options.dynamodb, options.table, cursors);
    if (error !== undefined && !isDependencyFailure(error)) throw error;
    // Only costs precision: a redelivery of those records would send their alerts again.
    if (failed.length > 0) options.logger.warn('alert cursors not advanced', { lanes: failed.map((c) => c.sk), error: describeError(error) });
  }
  return published;
}
