/**
 * Test-only families for the runtime's own tests (handlers/runtime/*.test.ts).
 * They are not in the family list (handlers/families.ts), so nothing is built
 * or deployed for them, and their rules belong to the runtime's tests alone:
 * a change to a shipped family's rules cannot break or weaken a runtime test.
 * Their names start with `rt_`, so no shipped family shares their key prefix.
 * Test-only.
 */
import * as z from 'zod/mini';
import { createProcessor, effect, iso, PoisonRecordError, type Effect, type RecordContext } from '../../handlers/runtime/index.js';
import { defineFamily, type FamilyEvent } from '../../handlers/runtime/family.js';
import { entityId, eventId, isoTimestamp } from '../../handlers/runtime/fields.js';

/** rt_counter raises an alert each time a counter reaches another multiple of this. */
export const ALERT_EVERY = 3;

/** rt_counter: the runtime's exactly-once path (fences, coalesced and conflicting writes, claims, outbox, cursors, event-time bounds). */
export const rtCounter = defineFamily({
  name: 'rt_counter',
  description: `Test-only: counts per key and per group, with an alert at every ${ALERT_EVERY}rd count.`,
  schema: z.object({
    event_id: eventId(),
    key: entityId(),
    // Many partition keys, on many shards, adding to one item.
    group: z.optional(entityId()),
    amount: z.optional(z.int().check(z.gte(1), z.lte(1_000))),
    timestamp: z.optional(isoTimestamp()),
  }),
  partitionKey: ['key'],
  idempotencyKey: 'event_id',
  example: { key: 'k-1', group: 'g-1', amount: 1 },
});

interface Counter {
  key: string;
  count: number;
  /** The newest event time the counter has seen: what an event dated 9999 would move. */
  as_of: string;
}
interface Group {
  group: string;
  count: number;
}

export function rtCounterRoute(event: FamilyEvent<typeof rtCounter>, context: RecordContext): Effect[] {
  const amount = event.amount ?? 1;
  const effects = [
    effect<Counter>({ entity: 'counter', id: event.key, sort: 'count' }, (s) => {
      const before = s.count ?? 0;
      s.key = event.key;
      s.count = before + amount;
      if (!s.as_of || iso(context.eventTime) > s.as_of) s.as_of = iso(context.eventTime);
      if (Math.floor(s.count / ALERT_EVERY) === Math.floor(before / ALERT_EVERY)) return [];
      return [
        {
          alert_type: 'count_threshold_crossed',
          severity: 'warning',
          entity_type: 'counter',
          entity_id: event.key,
          details: { count: s.count, every: ALERT_EVERY },
          message: `Counter ${event.key} reached ${s.count}`,
        },
      ];
    }),
  ];
  const group = event.group;
  if (group !== undefined) {
    effects.push(
      effect<Group>({ entity: 'group', id: group, sort: 'total' }, (s) => {
        s.group = group;
        s.count = (s.count ?? 0) + amount;
      }),
    );
  }
  return effects;
}

export const rtCounterProcessor = createProcessor(rtCounter, rtCounterRoute);

/** rt_poison: poison isolation and the malformed sink, from effects that break DynamoDB's limits or refuse their record on request. */
export const rtPoison = defineFamily({
  name: 'rt_poison',
  description: 'Test-only: an effect that, when asked, grows its item, outgrows its key, stores a number DynamoDB cannot or refuses its record.',
  schema: z.object({
    event_id: eventId(),
    key: entityId(),
    /** Characters appended to the item. */
    grow: z.optional(z.int().check(z.gte(1), z.lte(400_000))),
    fault: z.optional(z.enum(['key_too_long', 'not_finite', 'refused'])),
  }),
  partitionKey: ['key'],
  idempotencyKey: 'event_id',
  example: { key: 'k-1' },
});

interface Thing {
  total: number;
  blob: string;
  score: number;
}

export function rtPoisonRoute(event: FamilyEvent<typeof rtPoison>): Effect[] {
  // The body's key is bounded by its schema; only an effect can build one over DynamoDB's 2,048 bytes.
  const id = event.fault === 'key_too_long' ? 'é'.repeat(1_100) : event.key;
  return [
    effect<Thing>({ entity: 'thing', id, sort: 'state' }, (s) => {
      if (event.fault === 'refused') throw new PoisonRecordError('value_out_of_range', 'rt_poison refuses this record, as asked');
      if (event.fault === 'not_finite') s.score = Number.POSITIVE_INFINITY;
      if (event.grow !== undefined) s.blob = `${s.blob ?? ''}${'x'.repeat(event.grow)}`;
      s.total = (s.total ?? 0) + 1;
    }),
  ];
}

export const rtPoisonProcessor = createProcessor(rtPoison, rtPoisonRoute);
