import type { KinesisStreamRecord } from 'aws-lambda';
import type { Json } from './attributes.js';
import { decodeRecord, type Envelope, type MalformedReason } from './envelope.js';
import { runtimeConfig } from './config.js';
import type { FamilyDefinition, FamilyEvent } from './family.js';
import type { RuntimeKeys } from './keys.js';
import { padSequence, shardIdOf } from './sequence.js';
import type { Alert, AlertDraft, Effect, RecordContext } from './types.js';

export type Route<F extends FamilyDefinition> = (event: FamilyEvent<F>, context: RecordContext) => Effect[];

interface BaseRecord {
  record: KinesisStreamRecord;
  index: number;
  shardId: string;
  /** `<shardId>|<partitionKey>`: the unit Lambda keeps in order. */
  lane: string;
  /** Approximate arrival in the stream, epoch seconds. */
  arrival: number;
  /** Padded, so string order is numeric order. */
  seq: string;
  context: RecordContext;
  effects: Effect[];
}
export interface ValidRecord extends BaseRecord {
  kind: 'valid';
  envelope: Envelope;
  key: string | null;
  /** Set once claims are read: a client retry of a key another record owns. */
  duplicate: boolean;
}
export interface MalformedRecord extends BaseRecord {
  kind: 'malformed';
  reason: MalformedReason;
  issues?: string;
}
export type Decoded = ValidRecord | MalformedRecord;

/** Largest slice of a malformed record's raw data kept in its alert and item (EventBridge entries are ≤ 256 KiB). */
const RAW_DATA_LIMIT = 32 * 1024;

/**
 * Decodes one Kinesis record and routes it to its effects. A malformed record
 * still has one effect: it is stored under the malformed key and raises a
 * MalformedEvent alert, so it goes through the same fenced, exactly-once path.
 */
export function recordDecoder<F extends FamilyDefinition>(family: F, route: Route<F>, keys: RuntimeKeys) {
  return function decode(record: KinesisStreamRecord, index: number): Decoded {
    const shardId = shardIdOf(record.eventID);
    const seq = padSequence(record.kinesis.sequenceNumber);
    const arrival = Math.round((record.kinesis.approximateArrivalTimestamp ?? 0) * 1000);
    const base = { record, index, shardId, seq, lane: `${shardId}|${record.kinesis.partitionKey}`, arrival: Math.floor(arrival / 1000) };
    const result = decodeRecord(family, record);
    const context: RecordContext = {
      family: family.name,
      sequenceNumber: record.kinesis.sequenceNumber,
      shardId,
      partitionKey: record.kinesis.partitionKey,
      eventTime: result.ok ? result.eventTime : arrival,
      ...(result.ok ? { envelope: result.envelope } : {}),
    };
    if (result.ok) {
      return {
        ...base,
        kind: 'valid',
        context,
        envelope: result.envelope,
        key: result.envelope.key ?? null,
        duplicate: false,
        effects: route(result.event, context),
      };
    }
    const recordKey = keys.malformedKey(shardId, seq);
    const effect: Effect = {
      ...recordKey,
      apply(state) {
        const raw = record.kinesis.data ?? '';
        const kept = raw.slice(0, RAW_DATA_LIMIT);
        const details: Record<string, Json> = {
          reason: result.reason,
          issues: result.issues ?? null,
          sequence_number: record.kinesis.sequenceNumber,
          partition_key: record.kinesis.partitionKey,
          shard_id: shardId,
          approximate_arrival: arrival ? new Date(arrival).toISOString() : null,
          raw_data: kept,
          raw_data_truncated: kept.length < raw.length,
          raw_length: raw.length,
          // Where the raw record is kept: what alerts leaving the system carry instead of the data.
          record_key: { pk: recordKey.pk, sk: recordKey.sk },
        };
        Object.assign(state, details);
        // Raw payloads are kept as long as failed records are (MALFORMED_TTL_SECONDS), counted from arrival so a recompute gives the same value.
        const from = arrival > 0 ? Math.floor(arrival / 1000) : Math.floor(Date.now() / 1000);
        state.expiresAt = from + runtimeConfig().malformedTtlSeconds;
        return [
          {
            alert_type: 'MalformedEvent',
            severity: 'warning',
            entity_type: 'kinesis_record',
            entity_id: `${shardId}/${record.kinesis.sequenceNumber}`,
            details,
            message: `Malformed ${family.name} record ${record.kinesis.sequenceNumber} (${result.reason})${result.issues ? `: ${result.issues}` : ''}`,
          },
        ];
      },
    };
    return { ...base, kind: 'malformed', context, reason: result.reason, ...(result.issues ? { issues: result.issues } : {}), effects: [effect] };
  };
}

/** The full alert for a reducer's draft; its id is deterministic so that a resend can be recognised. */
export function toAlert(familyName: string, draft: AlertDraft, d: Decoded, effectIndex: number, n: number): Alert {
  return {
    alert_id: `${familyName}:${d.shardId}:${d.record.kinesis.sequenceNumber}:${effectIndex}:${n}`,
    family: familyName,
    timestamp: new Date(d.context.eventTime).toISOString(),
    ...draft,
    source: {
      sequence_number: d.record.kinesis.sequenceNumber,
      shard_id: d.shardId,
      partition_key: d.record.kinesis.partitionKey,
      ...(d.kind === 'valid' ? { request_id: d.envelope.id, idempotency_key: d.key } : {}),
    },
  };
}
