import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { publishAlerts, type OutgoingAlert } from './alerts.js';
import type { Item } from './attributes.js';
import { describeError, isDependencyFailure } from './errors.js';
import type { Failures } from './failures.js';
import type { RuntimeKeys } from './keys.js';
import type { AlertCursors } from './reads.js';
import type { ShardRange } from './shards.js';
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
 * Alerts of records that are fully applied, in record order; the shard cursors record what is out.
 * Returns how many alerts were published.
 */
export async function publishAndAdvanceCursors(
  toPublish: readonly OutgoingAlert[],
  batch: { shards: ReadonlyMap<string, ShardRange>; newestArrival: number } & AlertCursors,
  failures: Failures,
  options: PublishOptions,
): Promise<number> {
  const { newestArrival, cursor, sentBeyond } = batch;
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
    // Cursor items hold nothing else, so whole-item puts (25 per BatchWriteItem) replace them safely.
    const cursors: Item[] = [];
    // A TTL is never in the past, even for records that arrived long ago (a replay).
    const expiresAt = Math.max(newestArrival, Math.floor(Date.now() / 1000)) + options.fenceRetentionSeconds;
    for (const [shardId, r] of results) {
      if (r.failure) fail(shardId, r.failure.alert.seq, new Error(r.failure.error));
      published += r.published.length;
      if (r.published.length === 0) continue;
      const from = failFrom.get(shardId);
      let mark = cursor.get(shardId)!;
      for (const a of r.published) if ((from === undefined || a.seq < from) && a.seq > mark) mark = a.seq;
      // Alerts already sent for records that will be redelivered: remembered by id so they are not sent again.
      const beyond = new Map([...sentBeyond.get(shardId)!].filter(([, seq]) => seq > mark));
      for (const a of r.published) if (a.seq > mark) beyond.set(a.id, a.seq);
      cursors.push({ ...options.keys.cursorKey(shardId), published_seq: mark, published_ids: [...beyond].map(([id, seq]) => `${seq}|${id}`), expiresAt });
    }
    const { failed, error } = await batchPut(options.dynamodb, options.table, cursors);
    if (error !== undefined && !isDependencyFailure(error)) throw error;
    // Only costs precision: a redelivery of those records would send their alerts again.
    if (failed.length > 0) options.logger.warn('alert cursors not advanced', { shards: failed.map((c) => c.pk), error: describeError(error) });
  }
  return published;
}
