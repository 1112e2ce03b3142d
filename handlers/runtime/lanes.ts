import type { Decoded } from './records.js';

/** The sequence range a batch holds for one lane (shard + partition key). */
export interface LaneRange {
  shardId: string;
  partitionKey: string;
  min: string;
  max: string;
}

/** The batch's lanes, the lowest sequence number per shard, and its newest arrival (epoch seconds). */
export function summarizeLanes(decoded: readonly Decoded[]) {
  const lanes = new Map<string, LaneRange>();
  const shardMin = new Map<string, string>();
  let newestArrival = 0;
  for (const d of decoded) {
    const lane = lanes.get(d.lane);
    if (!lane) lanes.set(d.lane, { shardId: d.shardId, partitionKey: d.record.kinesis.partitionKey, min: d.seq, max: d.seq });
    else {
      if (d.seq < lane.min) lane.min = d.seq;
      if (d.seq > lane.max) lane.max = d.seq;
    }
    if (!shardMin.has(d.shardId) || d.seq < shardMin.get(d.shardId)!) shardMin.set(d.shardId, d.seq);
    newestArrival = Math.max(newestArrival, d.arrival);
  }
  return { lanes, shardMin, newestArrival };
}
