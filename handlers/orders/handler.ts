import { createProcessor, effect, iso, type AlertDraft } from '../runtime/index.js';
import { orders, type OrderEvent } from './family.js';

export type OrderStatus = 'created' | 'paid' | 'shipped' | 'cancelled' | 'unknown';

interface OrderState {
  order_id: string;
  customer_id: string;
  status: OrderStatus;
  items: { sku: string; quantity: number; unit_price?: number }[];
  item_count: number;
  total_amount: number;
  currency: string;
  created_at: string;
  paid_at: string;
  shipped_at: string;
  cancelled_at: string;
  payment_id: string;
  paid_amount: number;
  carrier: string;
  tracking_number: string;
  cancel_reason: string;
  /** Repeated kinds (e.g. a second `paid` for the order) are ignored and counted. */
  repeated_events: number;
  rejected_events: number;
}

/**
 * Status follows from which milestones have happened, not from arrival order:
 * a late `created` fills in the order's details without rolling `shipped`
 * back, and a `paid` that arrives after `shipped` only records the payment.
 * Shipping and cancelling exclude each other, and a cancelled order cannot be
 * paid: those events are rejected and raise an InvalidOrderTransition alert.
 */
export function statusOf(s: Partial<OrderState>): OrderStatus {
  if (s.shipped_at) return 'shipped';
  if (s.cancelled_at) return 'cancelled';
  if (s.paid_at) return 'paid';
  if (s.created_at) return 'created';
  return 'unknown';
}

export const route = (event: OrderEvent, { eventTime }: { eventTime: number }) => [
  effect<OrderState>({ entity: 'order', id: event.order_id, sort: 'order' }, (s): AlertDraft[] => {
    const at = iso(eventTime);
    const from = statusOf(s);
    s.order_id = event.order_id;
    s.customer_id ??= event.customer_id;
    const reject = (why: string): AlertDraft[] => {
      s.rejected_events = (s.rejected_events ?? 0) + 1;
      return [
        {
          alert_type: 'InvalidOrderTransition',
          severity: 'warning',
          entity_type: 'order',
          entity_id: event.order_id,
          details: { from, event: event.type, reason: why, customer_id: event.customer_id },
          message: `Order ${event.order_id}: "${event.type}" rejected in status "${from}" (${why})`,
        },
      ];
    };
    const repeated = () => {
      s.repeated_events = (s.repeated_events ?? 0) + 1;
      return [];
    };
    switch (event.type) {
      case 'created':
        if (s.created_at) return repeated();
        s.created_at = at;
        s.items = event.items.map((i) => ({ sku: i.sku, quantity: i.quantity, ...(i.unit_price !== undefined ? { unit_price: i.unit_price } : {}) }));
        s.item_count = event.items.reduce((n, i) => n + i.quantity, 0);
        s.total_amount = event.total_amount;
        s.currency = event.currency;
        break;
      case 'paid':
        if (s.paid_at) return repeated();
        if (s.cancelled_at && !s.shipped_at) return reject('a cancelled order cannot be paid');
        s.paid_at = at;
        if (event.payment_id) s.payment_id = event.payment_id;
        if (event.total_amount !== undefined) s.paid_amount = event.total_amount;
        break;
      case 'shipped':
        if (s.shipped_at) return repeated();
        if (s.cancelled_at) return reject('a cancelled order cannot be shipped');
        s.shipped_at = at;
        if (event.carrier) s.carrier = event.carrier;
        if (event.tracking_number) s.tracking_number = event.tracking_number;
        break;
      case 'cancelled':
        if (s.cancelled_at) return repeated();
        if (s.shipped_at) return reject('a shipped order cannot be cancelled');
        s.cancelled_at = at;
        if (event.reason) s.cancel_reason = event.reason;
        break;
    }
    s.status = statusOf(s);
    return [];
  }),
];

export const processor = createProcessor(orders, route);
export const handler = processor.handler;
