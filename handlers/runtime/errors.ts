/**
 * A failure of a dependency (DynamoDB, EventBridge, the network) is reported
 * per record so the event source mapping retries from it; anything else is a
 * bug, and the invocation must fail loudly rather than skip records.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_SOCKET']);
const NETWORK_NAMES = new Set(['TimeoutError', 'AbortError', 'RequestTimeout', 'NetworkingError']);

export function isDependencyFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { $metadata?: unknown; $fault?: unknown; code?: unknown; name?: unknown };
  if (e.$metadata !== undefined || e.$fault !== undefined) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  return typeof e.name === 'string' && NETWORK_NAMES.has(e.name);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Raised when a write kept losing optimistic-concurrency races; retried like throttling. */
export class WriteConflictError extends Error {
  override name = 'WriteConflictError';
  readonly $fault = 'server';
}
