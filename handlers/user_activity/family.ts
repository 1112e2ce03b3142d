// A namespace import, not `import { z }`: esbuild then tree-shakes zod (14 KiB instead of 417 KiB with every locale).
import * as z from 'zod/mini';
import { defineFamily } from '../runtime/family.js';
import { entityId, eventId, isoTimestamp } from '../runtime/fields.js';

export const userActivity = defineFamily({
  name: 'user_activity',
  description: 'What users do in the product: page views, clicks, searches, sign-ins.',
  schema: z.object({
    event_id: eventId(),
    user_id: entityId(),
    action: z.string().check(z.regex(/^[a-z][a-z0-9_]{0,63}$/)),
    timestamp: z.optional(isoTimestamp()),
    metadata: z.optional(z.record(z.string(), z.unknown())),
  }),
  partitionKey: ['user_id'],
  idempotencyKey: 'event_id',
  example: { user_id: 'u-1', action: 'page_view', metadata: { page: '/products' } },
});

export type UserActivityEvent = z.output<typeof userActivity.schema>;
