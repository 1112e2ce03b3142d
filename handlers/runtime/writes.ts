import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { OutgoingAlert } from './alerts.js';
import type { Item } from './attributes.js';
import { applyEffects, type ApplyContext, type ItemGroup } from './apply.js';
import { writeClaims } from './claims.js';
import { isDependencyFailure, WriteConflictError } from './errors.js';
import type { Failures } from './failures.js';
import { getItem, keyId, putIfUnchanged } from './store.js';

export interface WriteOptions {
  dynamodb: DynamoDBClient;
  table: string;
  maxWriteConflicts: number;
  writeConcurrency: number;
  fail: Failures['fail'];
}

/**
 * Writes the claims and every changed item; writes to distinct items run in parallel.
 * Returns the alerts to publish (owed and newly raised, of items written or unchanged)
 * and how many conditional writes were made.
 */
export async function writeBatch(
  groups: ReadonlyMap<string, ItemGroup>,
  current: ReadonlyMap<string, Item>,
  newClaims: readonly Item[],
  ctx: ApplyContext,
  options: WriteOptions,
) {
  const { dynamodb, table, fail } = options;
  const toPublish: OutgoingAlert[] = [];
  let writes = 0;

  async function writeGroup(group: ItemGroup) {
    let item = current.get(keyId(group.key));
    let result = applyEffects(group.key, group.entries, item, ctx);
    try {
      for (let attempt = 0; result.put; attempt++) {
        if (attempt >= options.maxWriteConflicts) throw new WriteConflictError(`${group.key.pk} kept changing under ${attempt} writes`);
        if (attempt > 0) {
          // Another invocation (another shard or lane) wrote this item since it was read: recompute on the fresh
          // copy, after a short jittered pause so that hot items (a subject every student touches) do not thrash.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
          item = await getItem(dynamodb, table, group.key);
          result = applyEffects(group.key, group.entries, item, ctx);
          if (!result.put) break;
        }
        writes++;
        const version = typeof item?.v === 'number' ? item.v : undefined;
        if (await putIfUnchanged(dynamodb, table, result.put, item ? (version ?? 0) : undefined)) break;
      }
      toPublish.push(...result.owed, ...result.raised);
    } catch (error) {
      if (!isDependencyFailure(error)) throw error;
      toPublish.push(...result.owed);
      for (const d of result.fresh) fail(d.shardId, d.seq, error);
    }
  }

  // The item writers issue their first writes before the claims write is sent: a request order worth keeping stable.
  const queue = [...groups.values()];
  const workers = Array.from({ length: Math.min(options.writeConcurrency, queue.length) }, async () => {
    for (let group = queue.shift(); group; group = queue.shift()) await writeGroup(group);
  });
  await Promise.all([writeClaims(dynamodb, table, newClaims, fail), ...workers]);
  return { toPublish, writes };
}
