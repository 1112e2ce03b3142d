import type { Decoded } from './records.js';

/** The sequence range a batch holds for one shard (padded sequence numbers). */
export interface ShardRange {
  shardId: string;
  min: string;
  max: string;
}

/** The batch's shards and its newest arrival (epoch seconds). */
export function summarizeShards(decoded: readonly Decoded[]) {
  const shards = new Map<string, ShardRange>();
  let newestArrival = 0;
  for (const d of decoded) {
    const range = shards.get(d.shardId);
    if (!range) shards.set(d.shardId, { shardId: d.shardId, min: d.seq, max: d.seq });
    else {
      if (d.seq < range.min) range.min = d.seq;
      if (d.seq > range.max) range.max = d.seq;
    }
    newestArrival = Math.max(newestArrival, d.arrival);
  }
  return { shards, newestArrival };
}
