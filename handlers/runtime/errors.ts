/**
 * What can go wrong with a record, and what the runtime does about it:
 * - a dependency failure (throttling, 5xx, a timeout, the network) may succeed
 *   later: the record and every later one of its shard are retried;
 * - a record that can never succeed (a key or item over DynamoDB's limits, a
 *   value out of range, a request DynamoDB refuses as invalid) goes to the
 *   malformed sink with a reason and never holds back its neighbours;
 * - anything else is a bug, and the invocation fails loudly rather than skip records.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_SOCKET']);
const NETWORK_NAMES = new Set(['TimeoutError', 'AbortError', 'RequestTimeout', 'NetworkingError']);
/** Client-side (4xx) error names that a retry can fix: the service is only asking the caller to slow down. */
const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottledException',
  'LimitExceededException',
  'TransactionInProgressException',
]);

/** Base of the runtime's own errors, so a caller can tell them from a bug. */
export abstract class RecordError extends Error {}

/** A dependency that may answer later: the record is retried from the checkpoint. */
export class DependencyFailure extends RecordError {
  override name = 'DependencyFailure';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Reasons a record can never succeed; each is the `reason` of its malformed-sink item. */
export type PoisonReason =
  | 'key_too_large'
  | 'item_too_large'
  | 'value_out_of_range'
  | 'timestamp_out_of_range'
  | 'write_rejected'
  | 'idempotency_conflict';

/** A record that can never succeed, whatever is retried: it goes to the malformed sink with `reason`. */
export class PoisonRecordError extends RecordError {
  override name = 'PoisonRecordError';
  constructor(
    readonly reason: PoisonReason,
    message: string,
  ) {
    super(message);
  }
}

/** Raised when a write kept losing optimistic-concurrency races; retried like throttling. */
export class WriteConflictError extends DependencyFailure {
  override name = 'WriteConflictError';
}

/** DynamoDB left part of a batch request unprocessed after every backoff (it was throttling). */
export class UnprocessedError extends DependencyFailure {
  override name = 'UnprocessedItemsError';
}

interface SdkLikeError {
  $metadata?: { httpStatusCode?: number };
  $fault?: unknown;
  $retryable?: unknown;
  code?: unknown;
  name?: unknown;
}

/** A retry may succeed: our own DependencyFailure, throttling, a 5xx, a timeout or a network error. */
export function isDependencyFailure(error: unknown): boolean {
  if (error instanceof DependencyFailure) return true;
  if (typeof error !== 'object' || error === null || error instanceof PoisonRecordError) return false;
  const e = error as SdkLikeError;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (typeof e.name === 'string' && (NETWORK_NAMES.has(e.name) || THROTTLING_NAMES.has(e.name))) return true;
  if (e.$retryable !== undefined && e.$retryable !== null) return true;
  if (e.$fault === 'server') return true;
  const status = e.$metadata?.httpStatusCode;
  return typeof status === 'number' && (status >= 500 || status === 429);
}

/** What DynamoDB answers for a request that is invalid in itself (an item or key too large, a bad value). */
const REJECTED_REQUEST_NAMES = new Set(['ValidationException']);

/**
 * DynamoDB refused the request itself because of what it carries: sending the
 * same record again cannot succeed. Other client errors (AccessDenied,
 * ResourceNotFound) are the deployment's, not the record's: they make the
 * invocation fail, like a bug, instead of sending every record to the malformed sink.
 */
export function isRejectedRequest(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || isDependencyFailure(error)) return false;
  const e = error as SdkLikeError;
  return typeof e.name === 'string' && REJECTED_REQUEST_NAMES.has(e.name);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
