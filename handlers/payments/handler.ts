import { cents, createProcessor, dict, effect, iso, own, setOwn, type AlertDraft, type Dict } from '../runtime/index.js';
import { paymentsConfig } from './config.js';
import { payments, type PaymentEvent } from './family.js';

type PaymentStatus = PaymentEvent['status'];

interface Payment {
  status: PaymentStatus;
  amount: number;
  currency: string;
  method: string;
  /** When each status was first seen (a repeated status is ignored). */
  events: Partial<Record<PaymentStatus, string>>;
  failure_reason?: string;
  refunded_amount?: number;
}

interface OrderPayments {
  order_id: string;
  currency: string;
  /** At most PAYMENTS_MAX_PER_ORDER payments (see config.ts). */
  payments: Dict<Payment>;
  untracked_payment_events: number;
  captured_total: number;
  refunded_total: number;
  failed_count: number;
  order_amount: number;
  last_event_at: string;
}

const RANK: Record<PaymentStatus, number> = { authorized: 0, failed: 1, captured: 2, refunded: 3 };

export const route = (event: PaymentEvent, { eventTime }: { eventTime: number }) => [
  effect<OrderPayments>({ entity: 'order', id: event.order_id, sort: 'payments' }, (s): AlertDraft[] => {
    const at = iso(eventTime);
    s.order_id = event.order_id;
    s.currency ??= event.currency;
    s.payments ??= dict();
    s.captured_total ??= 0;
    s.refunded_total ??= 0;
    s.failed_count ??= 0;
    if (!s.last_event_at || at > s.last_event_at) s.last_event_at = at;
    if (event.order_amount !== undefined) s.order_amount = event.order_amount;

    let p = own(s.payments, event.payment_id);
    if (p === undefined && Object.keys(s.payments).length < paymentsConfig.maxPaymentsPerOrder) {
      p = { status: event.status, amount: event.amount, currency: event.currency, method: event.method, events: {} };
      setOwn(s.payments, event.payment_id, p);
    }
    if (p === undefined) {
      // Beyond the cap: counted in the totals below, without per-payment state.
      s.untracked_payment_events = (s.untracked_payment_events ?? 0) + 1;
      p = { status: event.status, amount: event.amount, currency: event.currency, method: event.method, events: {} };
    }
    if (own(p.events, event.status) !== undefined) return [];
    p.events[event.status] = at;
    // Status is the furthest one reached, whatever order the events came in.
    if (RANK[event.status] >= RANK[p.status]) p.status = event.status;
    if (event.status === 'refunded') p.refunded_amount = cents((p.refunded_amount ?? 0) + event.amount);
    else p.amount = event.amount;

    const alerts: AlertDraft[] = [];
    const base = { entity_type: 'order', entity_id: event.order_id };
    switch (event.status) {
      case 'failed':
        s.failed_count += 1;
        if (event.failure_reason) p.failure_reason = event.failure_reason;
        alerts.push({
          ...base,
          alert_type: 'PaymentFailed',
          severity: 'warning',
          details: {
            payment_id: event.payment_id,
            amount: event.amount,
            currency: event.currency,
            method: event.method,
            failure_reason: event.failure_reason ?? null,
          },
          message: `Payment ${event.payment_id} of ${event.amount} ${event.currency} for order ${event.order_id} failed${
            event.failure_reason ? `: ${event.failure_reason}` : ''
          }`,
        });
        break;
      case 'captured':
        s.captured_total = cents(s.captured_total + event.amount);
        if (s.order_amount !== undefined && Math.abs(s.captured_total - s.order_amount) > paymentsConfig.amountTolerance) {
          alerts.push({
            ...base,
            alert_type: 'CapturedAmountMismatch',
            severity: 'warning',
            details: {
              payment_id: event.payment_id,
              captured_total: s.captured_total,
              order_amount: s.order_amount,
              difference: cents(s.captured_total - s.order_amount),
              currency: event.currency,
            },
            message: `Order ${event.order_id}: captured ${s.captured_total} ${event.currency} but the order amount is ${s.order_amount}`,
          });
        }
        break;
      case 'refunded':
        s.refunded_total = cents(s.refunded_total + event.amount);
        break;
      case 'authorized':
        break;
    }
    return alerts;
  }),
];

export const processor = createProcessor(payments, route);
export const handler = processor.handler;
