/**
 * Reading tunables from the environment. Thresholds live in each family's
 * `config.ts` with a default and an environment override, so operators can
 * change them per environment without a code change.
 */
export function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`environment variable ${name}="${raw}" is not a number`);
  return value;
}

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is required`);
  return value;
}

/** Runtime-wide settings (not family thresholds). */
export const runtimeConfig = () => ({
  /** How long a client idempotency claim is kept: retries later than this are new events. */
  claimTtlSeconds: numberFromEnv('CLAIM_TTL_SECONDS', 7 * 24 * 3600),
  /**
   * How long a lane's fence and unsent alerts are kept after its last record.
   * Must exceed the longest time a record can be redelivered: the mapping's
   * maximum record age (at most 7 days in Lambda), so 8 days by default.
   */
  fenceRetentionSeconds: numberFromEnv('FENCE_RETENTION_SECONDS', 8 * 24 * 3600),
  /** Optimistic-concurrency retries when another shard updated the same item meanwhile. */
  maxWriteConflicts: numberFromEnv('MAX_WRITE_CONFLICTS', 8),
  /** PutEvents attempts for entries EventBridge reports as failed (FailedEntryCount). */
  alertAttempts: numberFromEnv('ALERT_ATTEMPTS', 3),
  /**
   * Per-request timeout for DynamoDB and EventBridge. A hung call then fails as
   * a dependency failure (its records are retried from the checkpoint) instead
   * of running the invocation into the function timeout.
   */
  dependencyTimeoutMs: numberFromEnv('DEPENDENCY_TIMEOUT_MS', 10_000),
  /**
   * How long a malformed record's item (raw data included) is kept: the stacks
   * set it to the failure destination's retention, so every kept payload
   * expires alike; 14 days by default.
   */
  malformedTtlSeconds: numberFromEnv('MALFORMED_TTL_SECONDS', 14 * 24 * 3600),
  /**
   * How far after its arrival in the stream an event may be dated. Later ones
   * are malformed (`timestamp_out_of_range`): one event dated 9999 would
   * otherwise become its entity's reference time and push every real event out
   * of the rolling windows. Generous by default because clients' clocks and
   * batch uploads differ; lower it where producers are trusted to keep time.
   */
  eventTimeToleranceSeconds: numberFromEnv('EVENT_TIME_TOLERANCE_SECONDS', 24 * 3600),
  /**
   * New alerts one item takes per pass. Alerts wait in the item's outbox until
   * they are sent; further records of that item are applied in a next pass of
   * the same invocation, after this pass's alerts are out, so an outbox holds
   * at most this many entries per shard.
   */
  maxAlertsPerItem: numberFromEnv('MAX_ALERTS_PER_ITEM', 10),
  /** Parallel DynamoDB writes per invocation. */
  writeConcurrency: numberFromEnv('WRITE_CONCURRENCY', 16),
});
