// A namespace import, not `import { z }`: esbuild then tree-shakes zod (14 KiB instead of 417 KiB with every locale).
import * as z from 'zod/mini';
import { defineFamily } from '../runtime/family.js';
import { currency, entityId, eventId, isoTimestamp, money } from '../runtime/fields.js';

export const payments = defineFamily({
  name: 'payments',
  description: 'Payment attempts against orders: authorized, captured, failed, refunded.',
  schema: z.object({
    event_id: eventId(),
    payment_id: entityId(),
    order_id: entityId(),
    amount: money(),
    currency: currency(),
    status: z.enum(['authorized', 'captured', 'failed', 'refunded']),
    method: z.enum(['card', 'paypal', 'bank_transfer', 'wallet']),
    /** The order's amount as the payment provider saw it; a capture that differs raises an alert. */
    order_amount: z.optional(money()),
    failure_reason: z.optional(z.string().check(z.maxLength(256))),
    timestamp: z.optional(isoTimestamp()),
  }),
  // Per order, so that every payment of one order is applied in order on one shard.
  partitionKey: ['order_id'],
  idempotencyKey: 'event_id',
  example: {
    payment_id: 'p-9001',
    order_id: 'o-1001',
    amount: 25,
    currency: 'EUR',
    status: 'captured',
    method: 'card',
    order_amount: 25,
  },
});

export type PaymentEvent = z.output<typeof payments.schema>;
