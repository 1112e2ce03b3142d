import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Item } from './attributes.js';
import type { RuntimeKeys } from './keys.js';
import type { Decoded } from './records.js';
import type { ShardRange } from './shards.js';
import { batchGet, keyId, type Key } from './store.js';

/**
 * One consistent read of everything the batch may touch: the items its
 * effects update, the claims of its idempotency keys and its shards' alert
 * cursors. A failure is the caller's to classify.
 */
export function readBatchState(
  dynamodb: DynamoDBClient,
  table: string,
  keys: RuntimeKeys,
  decoded: readonly Decoded[],
  shards: ReadonlyMap<string, ShardRange>,
): Promise<Map<string, Item>> {
  const wanted = new Map<string, Key>();
  const addKey = (key: Key) => wanted.set(keyId(key), { pk: key.pk, sk: key.sk });
  for (const shardId of shards.keys()) addKey(keys.cursorKey(shardId));
  for (const d of decoded) {
    for (const e of d.effects) addKey(e);
    if (d.kind === 'valid' && d.key !== null) addKey(keys.claimKey(d.key));
  }
  return batchGet(dynamodb, table, [...wanted.values()]);
}

/**
 * How far each shard's alerts are known to be out: every alert of a record up to published_seq (`cursor`), plus
 * published_ids (`<seq>|<alert id>`, as `sentBeyond`) sent beyond it by a delivery that then failed at an earlier record.
 */
export function readAlertCursors(keys: RuntimeKeys, shards: ReadonlyMap<string, ShardRange>, current: ReadonlyMap<string, Item>) {
  const cursor = new Map<string, string>();
  const sentBeyond = new Map<string, Map<string, string>>();
  for (const shardId of shards.keys()) {
    const item = current.get(keyId(keys.cursorKey(shardId)));
    cursor.set(shardId, String(item?.published_seq ?? ''));
    const extra = new Map<string, string>();
    for (const entry of (item?.published_ids as string[] | undefined) ?? []) {
      const bar = entry.indexOf('|');
      extra.set(entry.slice(bar + 1), entry.slice(0, bar));
    }
    sentBeyond.set(shardId, extra);
  }
  return { cursor, sentBeyond };
}

export type AlertCursors = ReturnType<typeof readAlertCursors>;
