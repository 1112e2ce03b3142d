/**
 * What the estimate assumes besides prices and the environment's settings:
 * figures measured in this repository (named with where they come from) and
 * plain assumptions (said so). Change them here; nothing else repeats them.
 */

/** AWS bills a month as 730 hours. */
export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;

/**
 * Processor time per invocation, fitted as `fixedMs + perRecordMs × records`
 * through the README's measured "Processor CPU" figures (bench part 4: one
 * warm invocation, 264 records/s on 100 records and 514 records/s on 1,000,
 * dynalite in-process on a shared 2-core machine). Measured locally, not on
 * Lambda: real DynamoDB round trips add latency, a 256 MB function has less CPU.
 */
export const MEASURED_PROCESSOR_THROUGHPUT = [
  { records: 100, recordsPerSecond: 264 },
  { records: 1000, recordsPerSecond: 514 },
] as const;

/** Metrics each processor publishes with EMF (README "Metrics"): custom metrics, billed per month. */
export const EMF_METRICS_PER_FAMILY = 6;
/** Kinesis shard-level metrics the stacks enable where `shardLevelMetrics` is on (modules/event-family.ts). */
export const SHARD_LEVEL_METRICS = 4;

/**
 * Alarms the stacks create and the metrics they evaluate (CloudWatch bills
 * alarms per metric): per family iterator age, errors, throttles, failure
 * records, write throughput exceeded (1 each) and the malformed rate (2:
 * malformed and incoming); the API's 4xx rate and 5xx; alert delivery (each of
 * the two alert rules' failed invocations and the alert-delivery queue's
 * depth). cost/model.test.ts checks these against the synthesized stack.
 */
export const ALARM_METRICS_PER_FAMILY = 7;
export const API_ALARM_METRICS = 2;
export const ALERT_DELIVERY_ALARM_METRICS = 3;

/** Assumption: log bytes per processor invocation (Lambda's START/END/REPORT lines and one EMF line). */
export const LOG_BYTES_PER_INVOCATION = 1_200;
/** Assumption: bytes of one API access-log line (the stage's 13-field JSON format). */
export const ACCESS_LOG_BYTES_PER_REQUEST = 450;

/**
 * Assumption: every event carries an `event_id`, so each leaves one claim item
 * (`<family>#claim#<id>`, about 100 bytes plus DynamoDB's 100-byte item
 * overhead) stored for the runtime's CLAIM_TTL_SECONDS (7 days).
 */
export const CLAIM_ITEM_BYTES = 200;
export const CLAIM_RETENTION_DAYS = 7;

/** Assumption: gzip shrinks the archived JSON records to a fifth. */
export const ARCHIVE_COMPRESSION_RATIO = 0.2;

/** X-Ray's default sampling rule: the first request each second, then 5 % of the rest (per traced service). */
export const XRAY_RESERVOIR_PER_SECOND = 1;
export const XRAY_FIXED_RATE = 0.05;

/** Kinesis' provisioned shard write limits (Kinesis Data Streams quotas): 1,000 records/s and 1 MiB/s per shard. */
export const SHARD_RECORDS_PER_SECOND = 1_000;
export const SHARD_BYTES_PER_SECOND = 1024 * 1024;
