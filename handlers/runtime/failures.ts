import type { Logger } from '@aws-lambda-powertools/logger';
import { describeError } from './errors.js';

/**
 * Records fail per shard, from a point on: Lambda retries a shard from its
 * first failed record, so the lowest failed sequence number per shard decides,
 * and that record and every later one of its shard in this batch fail.
 */
export function failureTracker(logger: Logger) {
  const failFrom = new Map<string, string>();
  const fail = (shardId: string, seq: string, why: unknown) => {
    const current = failFrom.get(shardId);
    if (current === undefined || seq < current) failFrom.set(shardId, seq);
    logger.error('records failed, retried from here', { shardId, sequenceNumber: seq.replace(/^0+(?=\d)/, ''), error: describeError(why) });
  };
  const isFailed = (shardId: string, seq: string) => {
    const from = failFrom.get(shardId);
    return from !== undefined && seq >= from;
  };
  return { failFrom, fail, isFailed };
}

export type Failures = ReturnType<typeof failureTracker>;
