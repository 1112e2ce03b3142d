import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Item } from './attributes.js';
import { isDependencyFailure } from './errors.js';
import type { Failures } from './failures.js';
import type { RuntimeKeys } from './keys.js';
import type { Decoded } from './records.js';
import { batchPut, keyId } from './store.js';

/**
 * Client idempotency: the first record to claim a key owns it; later ones with another sequence number are retries.
 * Marks each valid record's `duplicate` and returns the claims this batch makes.
 */
export function resolveClaims(
  decoded: readonly Decoded[],
  current: ReadonlyMap<string, Item>,
  keys: RuntimeKeys,
  options: { now: string; claimTtlSeconds: number },
): Item[] {
  const newClaims: Item[] = [];
  const claimOwner = new Map<string, Decoded>();
  const expiresAt = Math.floor(Date.now() / 1000) + options.claimTtlSeconds;
  for (const d of decoded) {
    if (d.kind !== 'valid' || d.key === null) continue;
    const claim = current.get(keyId(keys.claimKey(d.key)));
    const owner = claimOwner.get(d.key);
    if (claim) d.duplicate = !(claim.seq === d.seq && claim.shard === d.shardId);
    else if (owner) d.duplicate = true;
    else {
      claimOwner.set(d.key, d);
      newClaims.push({ ...keys.claimKey(d.key), seq: d.seq, shard: d.shardId, request_id: d.envelope.id, claimed_at: options.now, expiresAt });
    }
  }
  return newClaims;
}

/** A claim that could not be written fails its record, so the retry claims it again. */
export async function writeClaims(dynamodb: DynamoDBClient, table: string, newClaims: readonly Item[], fail: Failures['fail']) {
  if (newClaims.length === 0) return;
  const { failed, error } = await batchPut(dynamodb, table, newClaims);
  if (error !== undefined && !isDependencyFailure(error)) throw error;
  for (const claim of failed) fail(String(claim.shard), String(claim.seq), error);
}
