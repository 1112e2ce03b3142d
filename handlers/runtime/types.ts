import type { Envelope } from './envelope.js';
import type { Json } from './attributes.js';

export type Severity = 'info' | 'warning' | 'critical';

/** What a reducer raises; the runtime adds ids, family, time and the source record. */
export interface AlertDraft {
  alert_type: string;
  severity: Severity;
  entity_id: string;
  entity_type: string;
  details: Record<string, Json>;
  message: string;
}

/** The `detail` of every alert on the bus (detail-type = alert_type, source = event-flow.<family>). */
export interface Alert extends AlertDraft {
  /** Deterministic: `<family>:<shardId>:<sequenceNumber>:<effect>:<n>`; consumers may dedupe on it. */
  alert_id: string;
  family: string;
  /** Event time of the record that raised it (ISO-8601). */
  timestamp: string;
  source: { sequence_number: string; shard_id: string; partition_key: string; request_id?: string; idempotency_key?: string | null };
}

export interface RecordContext {
  family: string;
  sequenceNumber: string;
  shardId: string;
  partitionKey: string;
  /** Epoch ms: the body's `timestamp`, else the envelope's `receivedAt`. */
  eventTime: number;
  /**
   * Epoch ms the record arrived in the stream: the same on every delivery, so
   * reducers may use it (never the clock) for expiry times, which must not lie in the past.
   */
  arrivalTime: number;
  envelope?: Envelope;
}

/**
 * Reducer state: an item's attributes without the runtime's own (pk, sk, version, fences, outboxes).
 * Maps read from the table have no prototype, so user data used as a key (`constructor`) finds nothing inherited.
 */
export type State = Record<string, Json | undefined>;

/**
 * One effect of one event on one item. `apply` mutates the item's state in
 * place and returns the alerts it raises. It must be deterministic (no clock,
 * no randomness): after a write conflict it is re-run on the fresher item.
 * It throws PoisonRecordError for an event it can never apply.
 */
export interface Effect {
  pk: string;
  sk: string;
  apply(state: State, context: RecordContext): AlertDraft[] | void;
}
