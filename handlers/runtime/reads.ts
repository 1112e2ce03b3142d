import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Item } from './attributes.js';
import type { RuntimeKeys } from './keys.js';
import type { LaneRange } from './lanes.js';
import type { Decoded } from './records.js';
import { batchGet, keyId, type Key } from './store.js';

/**
 * One consistent read of everything the batch may touch: the items its
 * effects update, the claims of its idempotency keys and its lanes' alert
 * cursors. A failure is the caller's to classify.
 */
export function readBatchState(
  dynamodb: DynamoDBClient,
  table: string,
  keys: RuntimeKeys,
  decoded: readonly Decoded[],
  lanes: ReadonlyMap<string, LaneRange>,
): Promise<Map<string, Item>> {
  const wanted = new Map<string, Key>();
  const addKey = (key: Key) => wanted.set(keyId(key), { pk: key.pk, sk: key.sk });
  for (const lane of lanes.values()) addKey(keys.cursorKey(lane.shardId, lane.partitionKey));
  for (const d of decoded) {
    for (const e of d.effects) addKey(e);
    if (d.kind === 'valid' && d.key !== null) addKey(keys.claimKey(d.key));
  }
  return batchGet(dynamodb, table, [...wanted.values()]);
}

/**
 * How far each lane's alerts are known to be out: every alert of a record up to published_seq (`cursor`), plus
 * published_ids (`<seq>|<alert id>`, as `sentBeyond`) sent beyond it by a delivery that then failed at an earlier record.
 */
export function readAlertCursors(keys: RuntimeKeys, lanes: ReadonlyMap<string, LaneRange>, current: ReadonlyMap<string, Item>) {
  const cursor = new Map<string, string>();
  const sentBeyond = new Map<string, Map<string, string>>();
  for (const [name, lane] of lanes) {
    const item = current.get(keyId(keys.cursorKey(lane.shardId, lane.partitionKey)));
    cursor.set(name, String(item?.published_seq ?? ''));
    const extra = new Map<string, string>();
    for (const entry of (item?.published_ids as string[] | undefined) ?? []) {
      const bar = entry.indexOf('|');
      extra.set(entry.slice(bar + 1), entry.slice(0, bar));
    }
    sentBeyond.set(name, extra);
  }
  return { cursor, sentBeyond };
}

export type AlertCursors = ReturnType<typeof readAlertCursors>;
