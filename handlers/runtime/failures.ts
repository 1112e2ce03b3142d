import type { Logger } from '@aws-lambda-powertools/logger';
import { describeError } from './errors.js';

/**
 * Records fail per shard, from a point on: Lambda retries a shard from its
 * first failed record, so the lowest failed sequence number per shard decides,
 * and that record and every later one of its shard in this batch fail.
 * A deferred record is handled the same way within a pass (nothing of it or
 * after it is claimed or published), but the processor runs those records
 * again itself in a further pass instead of reporting them to Lambda.
 */
export function failureTracker(logger: Logger) {
  const failFrom = new Map<string, string>();
  const deferFrom = new Map<string, string>();
  const lower = (map: Map<string, string>, shardId: string, seq: string) => {
    const current = map.get(shardId);
    if (current === undefined || seq < current) map.set(shardId, seq);
  };
  const fail = (shardId: string, seq: string, why: unknown) => {
    lower(failFrom, shardId, seq);
    logger.error('records failed, retried from here', { shardId, sequenceNumber: seq.replace(/^0+(?=\d)/, ''), error: describeError(why) });
  };
  const defer = (shardId: string, seq: string) => {
    lower(failFrom, shardId, seq);
    lower(deferFrom, shardId, seq);
  };
  const isFailed = (shardId: string, seq: string) => {
    const from = failFrom.get(shardId);
    return from !== undefined && seq >= from;
  };
  /** Shards whose first failure is a deferral: run again from there in this invocation. */
  const rerunFrom = () => new Map([...deferFrom].filter(([shardId, seq]) => failFrom.get(shardId) === seq));
  return { failFrom, fail, defer, isFailed, rerunFrom };
}

export type Failures = ReturnType<typeof failureTracker>;
