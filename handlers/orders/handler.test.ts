import { describe, expect, it } from 'vitest';
import { alertDetails, useHarness } from '../../test/support/harness.js';
import { kinesisEvent, records } from '../../test/support/kinesis.js';
import { orders } from './family.js';
import { handler } from './handler.js';

const h = useHarness();

const created = (order_id: string, extra: Record<string, unknown> = {}) => ({
  order_id,
  customer_id: 'c-1',
  type: 'created',
  items: [
    { sku: 'sku-1', quantity: 2, unit_price: 12.5 },
    { sku: 'sku-2', quantity: 1 },
  ],
  total_amount: 30,
  currency: 'EUR',
  timestamp: '2026-11-20T10:00:00Z',
  ...extra,
});
const step = (order_id: string, type: string, timestamp: string, extra: Record<string, unknown> = {}) => ({ order_id, customer_id: 'c-1', type, timestamp, ...extra });
const order = async (id: string) => (await h().scan()).find((i) => i.pk === `orders#order#${id}`);

describe('orders processor', () => {
  it('walks created → paid → shipped and keeps items, totals and milestones', async () => {
    const res = await handler(
      kinesisEvent(
        records(orders, [
          created('o-1'),
          step('o-1', 'paid', '2026-11-20T10:05:00Z', { payment_id: 'p-1', total_amount: 30, currency: 'EUR' }),
          step('o-1', 'shipped', '2026-11-21T08:00:00Z', { carrier: 'DHL', tracking_number: 'TR-1' }),
        ]),
      ),
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(await order('o-1')).toMatchObject({
      sk: 'order',
      status: 'shipped',
      customer_id: 'c-1',
      item_count: 3,
      total_amount: 30,
      currency: 'EUR',
      created_at: '2026-11-20T10:00:00.000Z',
      paid_at: '2026-11-20T10:05:00.000Z',
      shipped_at: '2026-11-21T08:00:00.000Z',
      payment_id: 'p-1',
      paid_amount: 30,
      carrier: 'DHL',
      tracking_number: 'TR-1',
      items: [
        { sku: 'sku-1', quantity: 2, unit_price: 12.5 },
        { sku: 'sku-2', quantity: 1 },
      ],
    });
    expect(h().sink.entries).toEqual([]);
  });

  it('cancels a created order, and the three events coalesce into one write per order', async () => {
    await handler(kinesisEvent(records(orders, [created('o-2'), step('o-2', 'cancelled', '2026-11-20T11:00:00Z', { reason: 'changed mind' }), created('o-3')])));
    expect(await order('o-2')).toMatchObject({ status: 'cancelled', cancel_reason: 'changed mind', cancelled_at: '2026-11-20T11:00:00.000Z' });
    expect(await order('o-3')).toMatchObject({ status: 'created' });
    expect(h().proxy.counts.PutItem).toBe(2);
  });

  it('handles out-of-order events: a late created never rolls shipped back', async () => {
    await handler(kinesisEvent(records(orders, [step('o-4', 'shipped', '2026-11-21T08:00:00Z'), step('o-4', 'paid', '2026-11-20T10:05:00Z')], 1)));
    await handler(kinesisEvent(records(orders, [created('o-4')], 3)));
    expect(await order('o-4')).toMatchObject({ status: 'shipped', total_amount: 30, created_at: '2026-11-20T10:00:00.000Z', paid_at: '2026-11-20T10:05:00.000Z' });
    expect(h().sink.entries).toEqual([]);
  });

  it('ignores repeated milestones from distinct requests (not client retries) without alerting', async () => {
    await handler(kinesisEvent(records(orders, [created('o-5'), step('o-5', 'paid', '2026-11-20T10:05:00Z'), step('o-5', 'paid', '2026-11-20T10:06:00Z')])));
    expect(await order('o-5')).toMatchObject({ status: 'paid', paid_at: '2026-11-20T10:05:00.000Z', repeated_events: 1 });
    expect(h().sink.entries).toEqual([]);
  });

  it('rejects invalid transitions and raises InvalidOrderTransition', async () => {
    await handler(
      kinesisEvent(
        records(orders, [
          created('o-6'),
          step('o-6', 'shipped', '2026-11-21T08:00:00Z'),
          step('o-6', 'cancelled', '2026-11-21T09:00:00Z'),
          created('o-7'),
          step('o-7', 'cancelled', '2026-11-20T11:00:00Z'),
          step('o-7', 'paid', '2026-11-20T12:00:00Z'),
          step('o-7', 'shipped', '2026-11-20T13:00:00Z'),
        ]),
      ),
    );
    expect(await order('o-6')).toMatchObject({ status: 'shipped', rejected_events: 1 });
    expect((await order('o-6'))!.cancelled_at).toBeUndefined();
    expect(await order('o-7')).toMatchObject({ status: 'cancelled', rejected_events: 2 });
    const alerts = alertDetails(h().sink);
    expect(alerts.map((a) => [a.entity_id, a.details.from, a.details.event])).toEqual([
      ['o-6', 'shipped', 'cancelled'],
      ['o-7', 'cancelled', 'paid'],
      ['o-7', 'cancelled', 'shipped'],
    ]);
    expect(h().sink.entries.every((e) => e.Source === 'event-flow.orders' && e.DetailType === 'InvalidOrderTransition' && e.EventBusName === 'event-flow-test-alerts')).toBe(true);
    expect(alerts[0]).toMatchObject({ alert_type: 'InvalidOrderTransition', severity: 'warning', entity_type: 'order', family: 'orders', timestamp: '2026-11-21T09:00:00.000Z' });
    expect(alerts[0].message).toContain('o-6');
  });
});

describe('orders with hostile data', () => {
  it('orders, customers and SKUs named after Object.prototype members are kept like any other', async () => {
    const names = ['constructor', 'toString', 'hasOwnProperty', 'valueOf'];
    const bodies = names.flatMap((name) => [
      { order_id: name, customer_id: name, type: 'created', items: [{ sku: name, quantity: 1, unit_price: 5 }], total_amount: 5, currency: 'EUR', timestamp: '2026-11-20T10:00:00Z' },
      { order_id: name, customer_id: name, type: 'paid', payment_id: name, total_amount: 5, timestamp: '2026-11-20T11:00:00Z' },
    ]);
    expect((await handler(kinesisEvent(records(orders, bodies)))).batchItemFailures).toEqual([]);
    for (const name of names) expect(await order(name)).toMatchObject({ status: 'paid', customer_id: name, payment_id: name, items: [{ sku: name, quantity: 1 }] });
  });
});
