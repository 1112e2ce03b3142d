import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { OutgoingAlert } from './alerts.js';
import type { Item } from './attributes.js';
import { applyEffects, type ApplyContext, type Applied, type ItemGroup } from './apply.js';
import { DependencyFailure, isDependencyFailure, isRejectedRequest, WriteConflictError } from './errors.js';
import type { Failures } from './failures.js';
import { poisonMark, type Decoded, type PoisonMark } from './records.js';
import { getItem, keyId, putIfUnchanged } from './store.js';

export interface WriteOptions {
  dynamodb: DynamoDBClient;
  table: string;
  maxWriteConflicts: number;
  writeConcurrency: number;
  failures: Failures;
}

export interface WriteResult {
  toPublish: OutgoingAlert[];
  writes: number;
  /**
   * Records that can never be applied. When found before any write (the usual case: sizes and values are
   * checked on the computed items), nothing was written and the batch must be run again without them.
   */
  poison: Map<Decoded, PoisonMark>;
}

/** Every changed item, computed first (pure) so that a poison record is known before anything is written. */
export function planWrites(groups: ReadonlyMap<string, ItemGroup>, current: ReadonlyMap<string, Item>, ctx: ApplyContext) {
  const plans = new Map<ItemGroup, Applied>();
  const poison = new Map<Decoded, PoisonMark>();
  for (const group of groups.values()) {
    const result = applyEffects(group.key, group.entries, current.get(keyId(group.key)), ctx);
    for (const [d, error] of result.poison) if (!poison.has(d)) poison.set(d, poisonMark(error));
    plans.set(group, result);
  }
  return { plans, poison };
}

/**
 * Writes every changed item; writes to distinct items run in parallel.
 * Returns the alerts to publish (owed and newly raised, of items written or unchanged)
 * and how many conditional writes were made.
 */
export async function writeBatch(groups: ReadonlyMap<string, ItemGroup>, current: ReadonlyMap<string, Item>, ctx: ApplyContext, options: WriteOptions): Promise<WriteResult> {
  const { dynamodb, table } = options;
  const { fail, defer } = options.failures;
  const toPublish: OutgoingAlert[] = [];
  let writes = 0;
  const { plans, poison } = planWrites(groups, current, ctx);
  if (poison.size > 0) return { toPublish, writes, poison };
  for (const { deferred } of plans.values()) if (deferred) defer(deferred.shardId, deferred.seq);

  async function writeGroup(group: ItemGroup) {
    let item = current.get(keyId(group.key));
    let result = plans.get(group)!;
    try {
      for (let attempt = 0; result.put; attempt++) {
        if (attempt >= options.maxWriteConflicts) throw new WriteConflictError(`${group.key.pk} kept changing under ${attempt} writes`);
        if (attempt > 0) {
          // Another invocation (another shard) wrote this item since it was read: recompute on the fresh
          // copy, after a short jittered pause so that hot items (a subject every student touches) do not thrash.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
          item = await getItem(dynamodb, table, group.key);
          result = applyEffects(group.key, group.entries, item, ctx);
          // Poison only on the fresher copy (another shard grew the item meanwhile): the redelivery's first pass finds it.
          if (result.poison.size > 0) throw new DependencyFailure(`${group.key.pk} changed under this batch into a state where a record is poison`);
          if (result.deferred) defer(result.deferred.shardId, result.deferred.seq);
          if (!result.put) break;
        }
        writes++;
        const version = typeof item?.v === 'number' ? item.v : undefined;
        if (await putIfUnchanged(dynamodb, table, result.put, item ? (version ?? 0) : undefined)) break;
      }
      toPublish.push(...result.owed, ...result.raised);
    } catch (error) {
      if (isRejectedRequest(error)) {
        // DynamoDB refused the write itself (not a race, not throttling): retrying cannot help.
        for (const d of result.fresh) if (!poison.has(d)) poison.set(d, poisonMark(error));
        return;
      }
      if (!isDependencyFailure(error)) throw error;
      toPublish.push(...result.owed);
      for (const d of result.fresh) fail(d.shardId, d.seq, error);
    }
  }

  const queue = [...groups.values()];
  const workers = Array.from({ length: Math.min(options.writeConcurrency, queue.length) }, async () => {
    for (let group = queue.shift(); group; group = queue.shift()) await writeGroup(group);
  });
  await Promise.all(workers);
  return { toPublish, writes, poison };
}
