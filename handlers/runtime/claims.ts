import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readFences } from './apply.js';
import type { Item } from './attributes.js';
import { isDependencyFailure } from './errors.js';
import type { Failures } from './failures.js';
import type { RuntimeKeys } from './keys.js';
import type { Decoded, PoisonMark, ValidRecord } from './records.js';
import { padSequence } from './sequence.js';
import { batchPut, keyId } from './store.js';

/** A claim this batch makes, written only once every effect of its record is. */
export interface NewClaim {
  record: ValidRecord;
  item: Item;
}

/** The body as the client sent it, hashed: a retry carries the same body, a conflict another one. */
export const bodyHash = (record: ValidRecord) => createHash('sha256').update(JSON.stringify(record.envelope.data)).digest('base64url');

/**
 * Whether the table shows any sign of the claim owner's effects on the items this record would change (same
 * body, same items). Claims are written after their record's effects, but an earlier version wrote them first,
 * so a claim can name a record whose effects never landed: then every item is absent, or fenced for the owner's
 * shard below the owner. An item fenced at or past the owner, or holding no fence for that shard any more (pruned
 * after FENCE_RETENTION_SECONDS), counts as a sign: in doubt the claim is trusted and nothing is applied twice.
 */
function ownerLeftEffects(d: ValidRecord, owner: { seq: string; shard: string }, current: ReadonlyMap<string, Item>): boolean {
  return d.effects.some((effect) => {
    const item = current.get(keyId(effect));
    if (item === undefined) return false;
    const fence = readFences(item.hw).get(owner.shard);
    return fence === undefined || padSequence(fence.seq) >= owner.seq;
  });
}

/**
 * Client idempotency: the first record to claim a key owns it. A later record with the same key and the same
 * body is a client retry (`duplicate`, skipped); with another body it is an idempotency conflict, not applied
 * and reported (returned in `conflicts`, naming the owner, for the malformed sink and an IdempotencyConflict alert).
 */
export function resolveClaims(
  decoded: readonly Decoded[],
  current: ReadonlyMap<string, Item>,
  keys: RuntimeKeys,
  options: { now: string; claimTtlSeconds: number },
) {
  const newClaims: NewClaim[] = [];
  const conflicts = new Map<ValidRecord, PoisonMark>();
  const inBatch = new Map<string, { seq: string; shard: string; hash: string; sequenceNumber: string }>();
  const expiresAt = Math.floor(Date.now() / 1000) + options.claimTtlSeconds;
  for (const d of decoded) {
    if (d.kind !== 'valid' || d.key === null) continue;
    const hash = bodyHash(d);
    let stored = current.get(keyId(keys.claimKey(d.key)));
    // A claim without its effects (left by an earlier version that claimed first) is taken over: the record is applied.
    if (stored && !(stored.seq === d.seq && stored.shard === d.shardId) && !ownerLeftEffects(d, { seq: String(stored.seq), shard: String(stored.shard) }, current)) stored = undefined;
    const owner = stored
      ? { seq: String(stored.seq), shard: String(stored.shard), hash: typeof stored.body_hash === 'string' ? stored.body_hash : hash, sequenceNumber: String(stored.seq).replace(/^0+(?=\d)/, '') }
      : inBatch.get(d.key);
    if (owner === undefined) {
      inBatch.set(d.key, { seq: d.seq, shard: d.shardId, hash, sequenceNumber: d.record.kinesis.sequenceNumber });
      newClaims.push({ record: d, item: { ...keys.claimKey(d.key), seq: d.seq, shard: d.shardId, request_id: d.envelope.id, body_hash: hash, claimed_at: options.now, expiresAt } });
      continue;
    }
    if (owner.seq === d.seq && owner.shard === d.shardId) {
      // Its own claim: a redelivery, fenced per item.
      if (!stored) newClaims.push({ record: d, item: { ...keys.claimKey(d.key), seq: d.seq, shard: d.shardId, request_id: d.envelope.id, body_hash: hash, claimed_at: options.now, expiresAt } });
      continue;
    }
    if (owner.hash === hash) {
      d.duplicate = true;
      continue;
    }
    conflicts.set(d, {
      reason: 'idempotency_conflict',
      issues: `idempotency key "${d.key}" is claimed by record ${owner.sequenceNumber} (${owner.shard}) with another body`,
      alertType: 'IdempotencyConflict',
      entity: { type: 'idempotency_key', id: d.key },
      details: { idempotency_key: d.key, body_hash: hash, claimed_by: { sequence_number: owner.sequenceNumber, shard_id: owner.shard, body_hash: owner.hash } },
    });
  }
  return { newClaims, conflicts };
}

/** Claims of records whose effects are all written; a claim that could not be written fails its record, so the retry claims it. */
export async function writeClaims(dynamodb: DynamoDBClient, table: string, claims: readonly NewClaim[], failures: Failures) {
  const due = claims.filter((c) => !failures.isFailed(c.record.shardId, c.record.seq)).map((c) => c.item);
  if (due.length === 0) return;
  const { failed, error } = await batchPut(dynamodb, table, due);
  if (error !== undefined && !isDependencyFailure(error)) throw error;
  for (const claim of failed) failures.fail(String(claim.shard), String(claim.seq), error);
}
