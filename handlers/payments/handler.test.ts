import { describe, expect, it } from 'vitest';
import { alertDetails, useHarness } from '../../test/support/harness.js';
import { kinesisEvent, records } from '../../test/support/kinesis.js';
import { payments } from './family.js';
import { handler } from './handler.js';

const h = useHarness();

const pay = (payment_id: string, status: string, amount: number, extra: Record<string, unknown> = {}) => ({
  payment_id,
  order_id: 'o-1',
  amount,
  currency: 'EUR',
  status,
  method: 'card',
  timestamp: '2026-11-20T10:00:00Z',
  ...extra,
});
const summary = async () => (await h().scan()).find((i) => i.pk === 'payments#order#o-1');

describe('payments processor', () => {
  it('records authorized → captured → refunded per payment and keeps totals; a matching capture raises nothing', async () => {
    const res = await handler(
      kinesisEvent(records(payments, [pay('p-1', 'authorized', 25, { order_amount: 25 }), pay('p-1', 'captured', 25, { order_amount: 25 }), pay('p-1', 'refunded', 5)])),
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(await summary()).toMatchObject({
      sk: 'payments',
      order_id: 'o-1',
      captured_total: 25,
      refunded_total: 5,
      failed_count: 0,
      order_amount: 25,
      payments: { 'p-1': { status: 'refunded', amount: 25, refunded_amount: 5, method: 'card', currency: 'EUR' } },
    });
    expect(Object.keys((await summary())!.payments as object)).toEqual(['p-1']);
    expect(h().sink.entries).toEqual([]);
  });

  it('alerts PaymentFailed with the reason', async () => {
    await handler(kinesisEvent(records(payments, [pay('p-2', 'failed', 25, { failure_reason: 'card declined', method: 'wallet' })])));
    expect(await summary()).toMatchObject({ failed_count: 1, payments: { 'p-2': { status: 'failed', failure_reason: 'card declined' } } });
    expect(h().sink.entries.map((e) => e.DetailType)).toEqual(['PaymentFailed']);
    expect(alertDetails(h().sink)[0]).toMatchObject({
      alert_type: 'PaymentFailed',
      severity: 'warning',
      entity_type: 'order',
      entity_id: 'o-1',
      details: { payment_id: 'p-2', amount: 25, method: 'wallet', failure_reason: 'card declined' },
    });
  });

  it('alerts CapturedAmountMismatch when the captured total differs from the order amount', async () => {
    await handler(kinesisEvent(records(payments, [pay('p-3', 'captured', 20.1, { order_amount: 25 }), pay('p-4', 'captured', 4.9, { order_amount: 25 })])));
    // 20.10 + 4.90 adds up to 25 in cents; only the first capture left a difference.
    expect(await summary()).toMatchObject({ captured_total: 25 });
    const alerts = alertDetails(h().sink);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ alert_type: 'CapturedAmountMismatch', details: { captured_total: 20.1, order_amount: 25, difference: -4.9 } });
  });

  it('counts a repeated status of one payment once', async () => {
    await handler(kinesisEvent(records(payments, [pay('p-5', 'captured', 25, { order_amount: 25 }), pay('p-5', 'captured', 25, { order_amount: 25 })])));
    expect(await summary()).toMatchObject({ captured_total: 25 });
    expect(h().sink.entries).toEqual([]);
  });

  it('sends alerts in PutEvents calls of at most 10 entries', async () => {
    const failed = Array.from({ length: 25 }, (_, i) => pay(`p-f${i}`, 'failed', 10, { order_id: `o-${i % 7}` }));
    expect((await handler(kinesisEvent(records(payments, failed)))).batchItemFailures).toEqual([]);
    // The sink answers a call with more than 10 entries with a ValidationException, as EventBridge does.
    expect(h().sink.requests).toBe(3);
    expect(h().sink.entries).toHaveLength(25);
    expect(new Set(alertDetails(h().sink).map((a) => a.details.payment_id)).size).toBe(25);
  });
});

describe('payments with hostile data', () => {
  it('tracks payment ids named after Object.prototype members like any other', async () => {
    const ids = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'.replace(/_/g, 'x')];
    const res = await handler(kinesisEvent(records(payments, ids.flatMap((id) => [pay(id, 'authorized', 10), pay(id, 'captured', 10)]))));
    expect(res.batchItemFailures).toEqual([]);
    const s = (await summary())!;
    expect(Object.keys(s.payments as object).sort()).toEqual([...ids].sort());
    expect(s).toMatchObject({ captured_total: 50, payments: { constructor: { status: 'captured', amount: 10 }, toString: { status: 'captured' } } });
    // Redelivered: nothing changes.
    await handler(kinesisEvent(records(payments, ids.flatMap((id) => [pay(id, 'authorized', 10), pay(id, 'captured', 10)]))));
    expect(await summary()).toMatchObject({ captured_total: 50 });
  });

  it('keeps at most PAYMENTS_MAX_PER_ORDER payments per order; the others still count in the totals', async () => {
    const bodies = Array.from({ length: 60 }, (_, i) => pay(`p-${i}`, 'captured', 1));
    expect((await handler(kinesisEvent(records(payments, bodies)))).batchItemFailures).toEqual([]);
    const s = (await summary())!;
    expect(Object.keys(s.payments as object)).toHaveLength(50);
    expect(s).toMatchObject({ captured_total: 60, untracked_payment_events: 10 });
  });
});
