import type { KinesisStreamRecord } from 'aws-lambda';
import type { Json } from './attributes.js';
import { decodeRecord, timeBoundsOf, type Envelope, type MalformedReason } from './envelope.js';
import { runtimeConfig } from './config.js';
import { describeError, PoisonRecordError, type PoisonReason } from './errors.js';
import type { FamilyDefinition, FamilyEvent } from './family.js';
import { keyProblem } from './item-size.js';
import type { RuntimeKeys } from './keys.js';
import { padSequence, shardIdOf } from './sequence.js';
import { keyed, type Effect, type KeyedEffect } from './effect.js';
import type { Alert, AlertDraft, RecordContext } from './types.js';

export type Route<F extends FamilyDefinition> = (event: FamilyEvent<F>, context: RecordContext) => Effect[];

interface BaseRecord {
  record: KinesisStreamRecord;
  index: number;
  shardId: string;
  /** Approximate arrival in the stream, epoch seconds. */
  arrival: number;
  /** Padded, so string order is numeric order. */
  seq: string;
  context: RecordContext;
  effects: KeyedEffect[];
}
export interface ValidRecord extends BaseRecord {
  kind: 'valid';
  envelope: Envelope;
  key: string | null;
  /** Set once claims are read: a client retry of a key another record owns, with the same body. */
  duplicate: boolean;
}
export interface MalformedRecord extends BaseRecord {
  kind: 'malformed';
  reason: MalformedReason | PoisonReason;
  issues?: string;
}
export type Decoded = ValidRecord | MalformedRecord;

/** Why a record found to be poison in an earlier pass over this batch is sent to the malformed sink. */
export interface PoisonMark {
  reason: PoisonReason;
  issues: string;
  alertType?: string;
  entity?: { type: string; id: string };
  details?: Record<string, Json>;
}

/** Largest slice of a malformed record's raw data kept in its alert and item (EventBridge entries are ≤ 256 KiB). */
const RAW_DATA_LIMIT = 32 * 1024;

/**
 * Decodes one Kinesis record and routes it to its effects. A malformed record
 * still has one effect: it is stored under the malformed key and raises a
 * MalformedEvent alert, so it goes through the same fenced, exactly-once path.
 * Every key an effect writes is checked against DynamoDB's limits here, before anything is written.
 */
export function recordDecoder<F extends FamilyDefinition>(family: F, route: Route<F>, keys: RuntimeKeys, options: { futureToleranceMs: number }) {
  return function decode(record: KinesisStreamRecord, index: number, poisoned?: PoisonMark): Decoded {
    const shardId = shardIdOf(record.eventID);
    const seq = padSequence(record.kinesis.sequenceNumber);
    const arrival = Math.round((record.kinesis.approximateArrivalTimestamp ?? 0) * 1000);
    const base = { record, index, shardId, seq, arrival: Math.floor(arrival / 1000) };
    const bounds = timeBoundsOf(record, options.futureToleranceMs);
    const result = decodeRecord(family, record, bounds);
    const context: RecordContext = {
      family: family.name,
      sequenceNumber: record.kinesis.sequenceNumber,
      shardId,
      partitionKey: record.kinesis.partitionKey,
      eventTime: result.ok ? result.eventTime : arrival,
      arrivalTime: bounds.referenceMs,
      ...(result.ok ? { envelope: result.envelope } : {}),
    };
    const malformed = (reason: MalformedRecord['reason'], issues: string | undefined, mark?: PoisonMark): MalformedRecord => ({
      ...base,
      kind: 'malformed',
      context,
      reason,
      ...(issues ? { issues } : {}),
      effects: [malformedEffect(family.name, keys, record, shardId, seq, arrival, reason, issues, mark)],
    });
    if (!result.ok) return malformed(result.reason, result.issues);
    if (poisoned) return malformed(poisoned.reason, poisoned.issues, poisoned);
    const key = result.envelope.key ?? null;
    let effects: KeyedEffect[];
    try {
      effects = route(result.event, context).map((e) => keyed(family.name, e));
    } catch (error) {
      if (error instanceof PoisonRecordError) return malformed(error.reason, error.message);
      throw error;
    }
    for (const target of key === null ? effects : [...effects, keys.claimKey(key)]) {
      const problem = keyProblem(target);
      if (problem) return malformed('key_too_large', `${problem} (${target.pk.slice(0, 80)}…)`);
    }
    return { ...base, kind: 'valid', context, envelope: result.envelope, key, duplicate: false, effects };
  };
}

/** Stores a malformed record under its own key (`<shardId>#<seq>`) and raises its alert, once. */
function malformedEffect(
  familyName: string,
  keys: RuntimeKeys,
  record: KinesisStreamRecord,
  shardId: string,
  seq: string,
  arrival: number,
  reason: string,
  issues: string | undefined,
  mark: PoisonMark | undefined,
): KeyedEffect {
  const recordKey = keys.malformedKey(shardId, seq);
  return {
    ...recordKey,
    apply(state) {
      const raw = record.kinesis.data ?? '';
      const kept = raw.slice(0, RAW_DATA_LIMIT);
      const details: Record<string, Json> = {
        reason,
        issues: issues ?? null,
        sequence_number: record.kinesis.sequenceNumber,
        partition_key: record.kinesis.partitionKey,
        shard_id: shardId,
        approximate_arrival: arrival ? new Date(arrival).toISOString() : null,
        ...mark?.details,
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
          alert_type: mark?.alertType ?? 'MalformedEvent',
          severity: 'warning',
          entity_type: mark?.entity?.type ?? 'kinesis_record',
          entity_id: mark?.entity?.id ?? `${shardId}/${record.kinesis.sequenceNumber}`,
          details,
          message: `${mark?.alertType === undefined ? 'Malformed' : 'Rejected'} ${familyName} record ${record.kinesis.sequenceNumber} (${reason})${issues ? `: ${issues}` : ''}`,
        },
      ];
    },
  };
}

/** A record found to be poison while its batch was applied: why, in a form that can be stored. */
export function poisonMark(error: unknown): PoisonMark {
  if (error instanceof PoisonRecordError) return { reason: error.reason, issues: error.message };
  return { reason: 'write_rejected', issues: describeError(error) };
}

/** The full alert for an effect's draft; its id is deterministic so that a resend can be recognised. */
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
