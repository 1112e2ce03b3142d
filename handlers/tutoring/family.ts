// A namespace import, not `import { z }`: esbuild then tree-shakes zod (14 KiB instead of 417 KiB with every locale).
import * as z from 'zod/mini';
import type { core } from 'zod/mini';
import { defineFamily } from '../runtime/family.js';
import { entityId, eventId, isoTimestamp } from '../runtime/fields.js';

const subject = () => z.string().check(z.regex(/^[a-z][a-z0-9_]{0,63}$/));
const region = () => z.string().check(z.regex(/^[a-z][a-z0-9_-]{0,63}$/));
const count = () => z.int().check(z.gte(0), z.lte(1_000_000));

/** The operations-dashboard body: `{event_type, timestamp?, payload}`. */
const kind = <Type extends string, Payload extends core.$ZodShape>(type: Type, payload: Payload) =>
  z.object({
    event_id: eventId(),
    event_type: z.literal(type),
    timestamp: z.optional(isoTimestamp()),
    payload: z.object(payload),
  });

export const tutoring = defineFamily({
  name: 'tutoring',
  description: 'Tutoring operations (sessions, IB calls, customer health, supply and demand) for the operations dashboard.',
  schema: z.discriminatedUnion('event_type', [
    kind('session_started', {
      session_id: entityId(),
      student_id: entityId(),
      tutor_id: entityId(),
      subject: z.optional(subject()),
    }),
    kind('session_completed', {
      session_id: entityId(),
      student_id: entityId(),
      tutor_id: entityId(),
      subject: z.optional(subject()),
      duration_minutes: z.optional(z.int().check(z.gte(0), z.lte(24 * 60))),
      tutor_rating: z.optional(z.number().check(z.gte(1), z.lte(5))),
    }),
    kind('ib_call_logged', {
      student_id: entityId(),
      call_id: z.optional(entityId()),
      reason: z.optional(z.string().check(z.maxLength(256))),
    }),
    kind('tutor_availability_updated', {
      tutor_id: entityId(),
      available_hours: z.number().check(z.gte(0), z.lte(168)),
      subjects: z.optional(z.array(subject()).check(z.maxLength(50))),
    }),
    kind('customer_health_update', {
      student_id: entityId(),
      health_score: z.number().check(z.gte(0), z.lte(100)),
      sessions_last_7_days: z.optional(count()),
      sessions_last_30_days: z.optional(count()),
      ib_calls_last_14_days: z.optional(count()),
    }),
    kind('supply_demand_update', {
      subject: subject(),
      region: region(),
      available_tutors: count(),
      active_students: count(),
      demand_score: z.number().check(z.gte(0), z.lte(100)),
      supply_score: z.number().check(z.gte(0), z.lte(100)),
      balance_status: z.enum(['balanced', 'high_demand', 'high_supply']),
    }),
  ]),
  // Student first: their windows and alerts need their events in order; then tutor, then subject.
  partitionKey: ['payload.student_id', 'payload.tutor_id', 'payload.subject'],
  idempotencyKey: 'event_id',
  example: {
    event_type: 'session_started',
    payload: { session_id: 'sess_123', student_id: 'stu_456', tutor_id: 'tut_789', subject: 'math' },
  },
});

export type TutoringEvent = z.output<typeof tutoring.schema>;
