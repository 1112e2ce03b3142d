import * as z from 'zod/mini';
import type { KinesisStreamRecord } from 'aws-lambda';
import type { FamilyDefinition } from './family.js';

/** Bounds on the envelope's fields, checked before anything is written. */
export const ENVELOPE_LIMITS = { idLength: 256, keyLength: 1024, maxEpochMs: 8_640_000_000_000_000 } as const;

/**
 * The envelope the API's VTL templates write to Kinesis (modules/templates.ts):
 * `id` is the API request id, `key` the client idempotency key or null.
 * `encoding: "json"` (the compatibility batch route) means `data` is the
 * event as JSON text, which only the processor can parse and validate.
 */
export const envelopeSchema = z.object({
  // API Gateway request ids are 36 characters; anything far longer was not written by the API.
  id: z.string().check(z.minLength(1), z.maxLength(ENVELOPE_LIMITS.idLength)),
  family: z.string().check(z.maxLength(64)),
  // The claim's partition key is `<family>#claim#<key>`: DynamoDB refuses partition keys over 2048 bytes.
  key: z.optional(z.nullable(z.string().check(z.minLength(1), z.maxLength(ENVELOPE_LIMITS.keyLength)))),
  // Epoch milliseconds the API received the request; the range JavaScript dates can represent.
  receivedAt: z.number().check(z.gte(0), z.lte(ENVELOPE_LIMITS.maxEpochMs)),
  sourceIp: z.optional(z.string().check(z.maxLength(64))),
  encoding: z.optional(z.literal('json')),
  data: z.unknown(),
});

export type Envelope = z.output<typeof envelopeSchema>;

export type MalformedReason = 'not_base64' | 'not_utf8' | 'not_json' | 'invalid_envelope' | 'wrong_family' | 'invalid_event' | 'timestamp_out_of_range';

/** What event times a record may carry, relative to when it arrived in the stream. */
export interface TimeBounds {
  /** When the record arrived in the stream (epoch ms): the same on every delivery, unlike the clock. */
  referenceMs: number;
  /** How far after `referenceMs` an event may be dated (clients' clocks and batching). */
  futureToleranceMs: number;
}

export type Decoded<Event> =
  | { ok: true; envelope: Envelope; event: Event; eventTime: number }
  | { ok: false; reason: MalformedReason; issues?: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function describeIssues(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 10)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** Event time: the body's own `timestamp` when it has one, else when the API received it. */
function eventTimeOf(event: unknown, envelope: Envelope): number {
  const stamp = (event as { timestamp?: unknown } | null)?.timestamp;
  if (typeof stamp === 'string') {
    const parsed = Date.parse(stamp);
    if (Number.isFinite(parsed)) return parsed;
  }
  return envelope.receivedAt;
}

/** The time bounds of one record: its arrival in the stream (the clock only for hand-made records without one) plus the tolerance. */
export function timeBoundsOf(record: KinesisStreamRecord, futureToleranceMs: number): TimeBounds {
  const arrival = Math.round((record.kinesis.approximateArrivalTimestamp ?? 0) * 1000);
  return { referenceMs: arrival > 0 ? arrival : Date.now(), futureToleranceMs };
}

export function decodeRecord<F extends FamilyDefinition>(family: F, record: KinesisStreamRecord, bounds: TimeBounds): Decoded<z.output<F['schema']>> {
  const data = record.kinesis.data;
  if (typeof data !== 'string' || data.length % 4 !== 0 || !BASE64.test(data)) return { ok: false, reason: 'not_base64' };
  let text: string;
  try {
    text = utf8.decode(Buffer.from(data, 'base64'));
  } catch {
    return { ok: false, reason: 'not_utf8' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: 'not_json', issues: (error as Error).message };
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) return { ok: false, reason: 'invalid_envelope', issues: describeIssues(envelope.error.issues) };
  if (envelope.data.family !== family.name) {
    return { ok: false, reason: 'wrong_family', issues: `envelope family "${envelope.data.family}" on the ${family.name} stream` };
  }
  const body = envelope.data.encoding === 'json' ? parseJsonText(envelope.data.data) : { ok: true as const, value: envelope.data.data };
  if (!body.ok) return { ok: false, reason: 'not_json', issues: body.issues };
  const event = family.schema.safeParse(body.value);
  if (!event.success) return { ok: false, reason: 'invalid_event', issues: describeIssues(event.error.issues) };
  const decoded = envelope.data.encoding === 'json' ? withIdempotencyKey(family, envelope.data, event.data) : envelope.data;
  if (decoded.key && decoded.key.length > ENVELOPE_LIMITS.keyLength) {
    return { ok: false, reason: 'invalid_event', issues: `idempotency key longer than ${ENVELOPE_LIMITS.keyLength} characters` };
  }
  const eventTime = eventTimeOf(event.data, decoded);
  // A far-future date would become the entity's reference time and push every real event out of its windows.
  if (!(eventTime >= 0 && eventTime <= bounds.referenceMs + bounds.futureToleranceMs)) {
    const limit = new Date(bounds.referenceMs + bounds.futureToleranceMs).toISOString();
    return { ok: false, reason: 'timestamp_out_of_range', issues: `event time ${new Date(eventTime).toISOString()} is not between 1970-01-01T00:00:00.000Z and ${limit} (arrival + ${bounds.futureToleranceMs / 1000} s)` };
  }
  return { ok: true, envelope: decoded, event: event.data as z.output<F['schema']>, eventTime };
}

function parseJsonText(data: unknown): { ok: true; value: unknown } | { ok: false; issues: string } {
  if (typeof data !== 'string') return { ok: false, issues: 'data: expected the event as a JSON string' };
  try {
    return { ok: true, value: JSON.parse(data) };
  } catch (error) {
    return { ok: false, issues: `data: ${(error as Error).message}` };
  }
}

/** The edge could not read the key inside JSON text; it is read here, as the native route's template reads it. */
function withIdempotencyKey(family: FamilyDefinition, envelope: Envelope, event: unknown): Envelope {
  if (envelope.key) return envelope;
  let node: unknown = event;
  for (const part of family.idempotencyKey.split('.')) {
    node = node !== null && typeof node === 'object' && Object.hasOwn(node, part) ? (node as Record<string, unknown>)[part] : undefined;
  }
  const key = typeof node === 'string' || typeof node === 'number' ? String(node) : '';
  return key === '' ? envelope : { ...envelope, key };
}
