import type { Envelope } from './envelope.js';
import type { Json } from './attributes.js';

export type Severity = 'info' | 'warning' | 'critical';

/** What an effect raises; the runtime adds ids, family, time and the source record. */
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
   * effects may use it (never the clock) for expiry times, which must not lie in the past.
   */
  arrivalTime: number;
  envelope?: Envelope;
}

/**
 * An effect's view of its item: the attributes without the runtime's own (pk, sk, version, fences, outboxes).
 * Maps read from the table have no prototype, so user data used as a key (`constructor`) finds nothing inherited.
 */
export type State = Record<string, Json | undefined>;
