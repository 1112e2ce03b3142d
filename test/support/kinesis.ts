/**
 * Kinesis events with the exact shape Lambda delivers (what the event source
 * mapping would pass to the handler), built from envelopes as the API's VTL
 * templates write them. Test-only.
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { FamilyDefinition } from '../../handlers/runtime/family.js';

export const SHARD = 'shardId-000000000000';
const BASE = 49_650_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;

/** Realistic 56-digit sequence numbers, increasing with `n`. */
export const sequenceNumber = (n: number) => (BASE + BigInt(n) * 1000n).toString();

/** When the test records arrived in the stream: the envelopes' receivedAt (records are 1 ms apart). */
export const ARRIVAL_SECONDS = Date.parse('2026-11-23T10:00:00Z') / 1000;

export interface EnvelopeOptions {
  id?: string;
  key?: string | null;
  receivedAt?: number;
}

export function envelope(family: FamilyDefinition, data: unknown, options: EnvelopeOptions = {}) {
  const key = options.key !== undefined ? options.key : ((data as Record<string, unknown>)?.[family.idempotencyKey] as string | undefined) ?? null;
  return {
    id: options.id ?? `req-${Math.random().toString(36).slice(2, 10)}`,
    family: family.name,
    key,
    receivedAt: options.receivedAt ?? ARRIVAL_SECONDS * 1000,
    sourceIp: '203.0.113.7',
    data,
  };
}

export function partitionKeyOf(family: FamilyDefinition, data: unknown): string {
  for (const path of family.partitionKey) {
    let value: unknown = data;
    for (const part of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
    if (typeof value === 'string' && value !== '') return value;
  }
  return 'fallback';
}

export interface RawRecord {
  /** base64 data as it sits in the stream. */
  data: string;
  partitionKey: string;
}

export const rawJson = (value: unknown, partitionKey = 'pk'): RawRecord => ({ data: Buffer.from(JSON.stringify(value)).toString('base64'), partitionKey });

/** Records for `bodies` (each wrapped in an envelope unless given raw), numbered from `first`. */
export function records(family: FamilyDefinition, bodies: (unknown | RawRecord)[], first = 1, shardId = SHARD): KinesisStreamRecord[] {
  return bodies.map((body, i) => {
    const raw = isRaw(body) ? body : rawJson(envelope(family, body, { id: `req-${first + i}` }), partitionKeyOf(family, body));
    const seq = sequenceNumber(first + i);
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: raw.partitionKey,
        sequenceNumber: seq,
        data: raw.data,
        approximateArrivalTimestamp: ARRIVAL_SECONDS + i / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${seq}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/processor',
      awsRegion: 'us-east-1',
      eventSourceARN: `arn:aws:kinesis:us-east-1:123456789012:stream/event-flow-test-${family.name}`,
    };
  });
}

function isRaw(body: unknown): body is RawRecord {
  return typeof body === 'object' && body !== null && 'data' in body && 'partitionKey' in body && Object.keys(body).length === 2;
}

export const kinesisEvent = (recs: KinesisStreamRecord[]): KinesisStreamEvent => ({ Records: recs });
