/**
 * Hostile inputs through the real local pipeline (issue 8, "What was seen" 2-6
 * and 9, and the families' edge values): each case sends what a hostile or
 * careless producer would, over the API or straight onto the stream with
 * PutRecords, and asserts where every accepted event ends: applied once (the
 * table's effect, not only a claim), the family's malformed sink with its
 * reason, or the on-failure destination with its payload.
 *
 * Seen failing on today's main (ff82b62), before runtime's fixes, failed: action "constructor" twice (the counter became "function Object() { [native code] }11");
 *   payment_id constructor/toString/hasOwnProperty (the processor crashed, records in the failure destination);
 *   the 3,000-character envelope key and receivedAt 1e20 (bisected, their neighbours sent to the failure destination
 *   with them); the claim without effects (the replay was skipped: no captured_total); the same event_id with
 *   another body (dropped, no alert); 9999-12-31 and pre-1970 timestamps (applied, not malformed); the body nested
 *   10,000 levels deep (500; skipped until conformance's local/json-text.ts is merged, see below). Passed already: orders/tutoring/event_id prototype names, `__proto__` as partition and
 *   envelope key, names the edge refuses, the late event, the oversize and edge values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accept, envelope, eventually, failedRecords, getItem, malformedOf, post, putDirect, putItem, settled, startHostile, whereIs, type Hostile } from './pipeline.js';

let hostile: Hostile;
const local = () => hostile.local;
const now = () => new Date().toISOString();
const PROTO_NAMES = ['constructor', 'toString', 'hasOwnProperty', '__proto__'] as const;
// Names the edge's identifier pattern accepts (`__proto__` starts with `_`, which entityId refuses).
const ID_NAMES = ['constructor', 'toString', 'hasOwnProperty'] as const;

beforeAll(async () => {
  hostile = await startHostile('inputs');
}, 120_000);

afterAll(async () => {
  await hostile?.stop();
});

/** The accepted record ended in neither the malformed sink nor the failure destination. */
async function notDiverted(family: string, w: { shardId: string; sequenceNumber: string }) {
  const where = await whereIs(local(), family, w);
  expect(where.malformed, `${family} ${w.sequenceNumber} is in the malformed sink: ${JSON.stringify(where.malformed?.issues)}`).toBeUndefined();
  expect(where.failed, `${family} ${w.sequenceNumber} is in the failure destination`).toBeUndefined();
}

describe('names of Object.prototype members in user-keyed fields (seen 2)', () => {
  it('user_activity: action "constructor" twice counts 2, user ids named like prototype members are ordinary users', async () => {
    const written = [
      await accept(local(), 'user_activity', { user_id: 'u-proto', action: 'constructor' }),
      await accept(local(), 'user_activity', { user_id: 'u-proto', action: 'constructor' }),
      ...(await Promise.all(ID_NAMES.map((name) => accept(local(), 'user_activity', { user_id: name, action: 'constructor', metadata: { constructor: 1, __proto__: { polluted: true }, toString: 'x' } })))),
    ];
    await settled(local(), 'user_activity', written);
    for (const w of written) await notDiverted('user_activity', w);
    const profile = await getItem(local(), 'user_activity#user#u-proto', 'profile');
    expect(profile?.actions).toEqual({ constructor: 2 });
    expect(profile?.total).toBe(2);
    for (const name of ID_NAMES) {
      const p = await getItem(local(), `user_activity#user#${name}`, 'profile');
      expect(p?.actions, name).toEqual({ constructor: 1 });
      expect(p?.total, name).toBe(1);
    }
    // Nothing leaked onto Object.prototype in this process either (the bundles run in workers, but the suite's code reads their items).
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('payments: payment_id "constructor", "toString", "hasOwnProperty" are captured like any other', async () => {
    const written = [];
    for (const name of ID_NAMES) {
      written.push(await accept(local(), 'payments', { payment_id: name, order_id: `o-proto-${name}`, amount: 12.5, currency: 'EUR', status: 'authorized', method: 'card' }));
      written.push(await accept(local(), 'payments', { payment_id: name, order_id: `o-proto-${name}`, amount: 12.5, currency: 'EUR', status: 'captured', method: 'card', order_amount: 12.5 }));
    }
    // Two payments with prototype names on one order.
    written.push(await accept(local(), 'payments', { payment_id: 'toString', order_id: 'o-proto-two', amount: 5, currency: 'EUR', status: 'captured', method: 'card' }));
    written.push(await accept(local(), 'payments', { payment_id: 'hasOwnProperty', order_id: 'o-proto-two', amount: 7, currency: 'EUR', status: 'captured', method: 'card' }));
    await settled(local(), 'payments', written);
    for (const w of written) await notDiverted('payments', w);
    for (const name of ID_NAMES) {
      const item = await getItem(local(), `payments#order#o-proto-${name}`, 'payments');
      expect(item?.captured_total, name).toBe(12.5);
      expect(item?.payments?.[name]?.status, name).toBe('captured');
      expect(Object.keys(item?.payments ?? {}), name).toEqual([name]);
    }
    const two = await getItem(local(), 'payments#order#o-proto-two', 'payments');
    expect(two?.captured_total).toBe(12);
    expect(Object.keys(two?.payments ?? {}).sort()).toEqual(['hasOwnProperty', 'toString']);
  });

  it('orders: order, customer and sku named like prototype members go through the lifecycle', async () => {
    const written = [];
    for (const name of ID_NAMES) {
      written.push(await accept(local(), 'orders', { order_id: name, customer_id: name, type: 'created', items: ID_NAMES.map((sku) => ({ sku, quantity: 1, unit_price: 1 })), total_amount: 3, currency: 'EUR' }));
      written.push(await accept(local(), 'orders', { order_id: name, customer_id: name, type: 'paid', total_amount: 3, currency: 'EUR', payment_id: name }));
      written.push(await accept(local(), 'orders', { order_id: name, customer_id: name, type: 'paid', total_amount: 3, currency: 'EUR', payment_id: name }));
    }
    await settled(local(), 'orders', written);
    for (const w of written) await notDiverted('orders', w);
    for (const name of ID_NAMES) {
      const item = await getItem(local(), `orders#order#${name}`, 'order');
      expect(item?.status, name).toBe('paid');
      expect(item?.customer_id, name).toBe(name);
      expect(item?.item_count, name).toBe(3);
      expect(item?.repeated_events, name).toBe(1);
    }
  });

  it('tutoring: student, tutor, subject and region named like prototype members', async () => {
    const t = now();
    const written = [];
    for (const name of ID_NAMES) {
      written.push(await accept(local(), 'tutoring', { event_type: 'session_started', timestamp: t, payload: { session_id: `s-${name}`, student_id: name, tutor_id: name, subject: 'constructor' } }));
      written.push(await accept(local(), 'tutoring', { event_type: 'ib_call_logged', timestamp: t, payload: { student_id: name, call_id: name } }));
      written.push(await accept(local(), 'tutoring', { event_type: 'tutor_availability_updated', timestamp: t, payload: { tutor_id: name, available_hours: 10, subjects: ['constructor'] } }));
    }
    written.push(await accept(local(), 'tutoring', { event_type: 'supply_demand_update', timestamp: t, payload: { subject: 'constructor', region: 'constructor', available_tutors: 1, active_students: 9, demand_score: 90, supply_score: 10, balance_status: 'high_demand' } }));
    await settled(local(), 'tutoring', written);
    for (const w of written) await notDiverted('tutoring', w);
    for (const name of ID_NAMES) {
      const student = await getItem(local(), `tutoring#student#${name}`, 'aggregate');
      expect(student?.sessions_7d, name).toBe(1);
      expect(student?.ib_calls_14d, name).toBe(1);
      const tutor = await getItem(local(), `tutoring#tutor#${name}`, 'aggregate');
      expect(tutor?.sessions_7d, name).toBe(1);
      expect(tutor?.available_hours, name).toBe(10);
    }
    expect((await getItem(local(), 'tutoring#subject#constructor', 'aggregate'))?.sessions_7d).toBe(3);
    expect((await getItem(local(), 'tutoring#subject#constructor', 'region#constructor'))?.balance_status).toBe('high_demand');
  });

  it('event_id named like a prototype member is an ordinary idempotency key (a retry applies once)', async () => {
    const written = [];
    for (const name of ID_NAMES) {
      const body = { user_id: `u-key-${name}`, action: 'login', event_id: name };
      written.push(await accept(local(), 'user_activity', body), await accept(local(), 'user_activity', body));
    }
    await settled(local(), 'user_activity', written);
    for (const w of written) await notDiverted('user_activity', w);
    for (const name of ID_NAMES) expect((await getItem(local(), `user_activity#user#u-key-${name}`, 'profile'))?.total, name).toBe(1);
  });

  it('"__proto__" as partition key and envelope idempotency key, straight onto the stream, applies once', async () => {
    const data = { user_id: 'u-proto-direct', action: 'login' };
    const written = await putDirect(local(), 'user_activity', [
      { partitionKey: '__proto__', data: envelope('user_activity', data, { key: '__proto__' }) },
      { partitionKey: '__proto__', data: envelope('user_activity', data, { key: '__proto__' }) },
      // `constructor` is taken by the retry case above (one claim namespace per family); `isPrototypeOf` is another member.
      { partitionKey: 'constructor', data: envelope('user_activity', { user_id: 'u-proto-direct', action: 'logout' }, { key: 'isPrototypeOf' }) },
    ]);
    await settled(local(), 'user_activity', written);
    for (const w of written) await notDiverted('user_activity', w);
    const profile = await getItem(local(), 'user_activity#user#u-proto-direct', 'profile');
    expect(profile?.actions).toEqual({ login: 1, logout: 1 });
  });

  it('names the edge refuses (the API answers 400; straight onto the stream they are malformed, invalid_event)', async () => {
    for (const name of PROTO_NAMES.filter((n) => !/^[a-z][a-z0-9_]*$/.test(n))) {
      const r = await post(`${local().apiUrl}/events/user_activity`, { user_id: 'u-1', action: name });
      expect(r.status, name).toBe(400);
      expect(r.json.message, name).toMatch(/^Invalid request body/);
    }
    const refused = await post(`${local().apiUrl}/events/payments`, { payment_id: '__proto__', order_id: 'o-1', amount: 1, currency: 'EUR', status: 'captured', method: 'card' });
    expect(refused.status).toBe(400);
    const [w] = await putDirect(local(), 'payments', [
      { partitionKey: 'o-proto-direct', data: envelope('payments', { payment_id: '__proto__', order_id: 'o-proto-direct', amount: 1, currency: 'EUR', status: 'captured', method: 'card' }) },
    ]);
    await settled(local(), 'payments', [w!]);
    const m = await malformedOf(local(), 'payments', w!);
    expect(m?.reason).toBe('invalid_event');
    expect(await getItem(local(), 'payments#order#o-proto-direct', 'payments')).toBeUndefined();
  });
});

describe('one poison record does not take its neighbours down (seen 3)', () => {
  it('a 3,000-character idempotency key and an envelope receivedAt of 1e20 go to the malformed sink; their neighbours are applied once', async () => {
    const user = (n: string) => ({ user_id: `u-neigh-${n}`, action: 'page_view' });
    // One neighbour accepted by the API, the others written with the poison in one PutRecords call, all in one batch window.
    const api = await accept(local(), 'user_activity', user('api'));
    const direct = await putDirect(local(), 'user_activity', [
      { partitionKey: 'u-neigh-1', data: envelope('user_activity', user('1')) },
      // The envelope's key, as a producer bypassing the API writes it (the body's event_id would fail the schema first).
      { partitionKey: 'u-neigh-long', data: envelope('user_activity', user('long'), { key: 'k'.repeat(3000) }) },
      { partitionKey: 'u-neigh-2', data: envelope('user_activity', user('2')) },
      { partitionKey: 'u-neigh-1e20', data: envelope('user_activity', user('1e20'), { receivedAt: 1e20 }) },
      { partitionKey: 'u-neigh-3', data: envelope('user_activity', user('3')) },
    ]);
    const [n1, longKey, n2, far, n3] = direct;
    await settled(local(), 'user_activity', [api, ...direct], 90_000);
    for (const [w, name] of [[api, 'api'], [n1, '1'], [n2, '2'], [n3, '3']] as const) {
      await notDiverted('user_activity', w!);
      const profile = await getItem(local(), `user_activity#user#u-neigh-${name}`, 'profile');
      expect(profile?.total, `neighbour ${name}`).toBe(1);
    }
    const poison = await malformedOf(local(), 'user_activity', longKey!);
    expect(poison, 'the 3,000-character key in the malformed sink').toBeDefined();
    expect(poison?.reason).toEqual(expect.any(String));
    expect(failedRecords(local(), 'user_activity')).toEqual([]);
    expect(await getItem(local(), 'user_activity#user#u-neigh-long', 'profile')).toBeUndefined();
    const range = await malformedOf(local(), 'user_activity', far!);
    expect(range, 'receivedAt 1e20 in the malformed sink').toBeDefined();
    expect(range?.reason).toEqual(expect.any(String));
    expect(await getItem(local(), 'user_activity#user#u-neigh-1e20', 'profile')).toBeUndefined();
  }, 120_000);
});

describe('a claim without its effects (seen 4)', () => {
  it('a replayed record whose claim exists but whose effects are missing is applied, once', async () => {
    // The state a crash between the claim and the item write left behind: a claim owned by an earlier
    // record of the same shard (here an unrelated record, so the item it names never got the effect).
    const [earlier] = await putDirect(local(), 'payments', [{ partitionKey: 'o-orphan', data: 'not json: the record the orphan claim names' }]);
    await settled(local(), 'payments', [earlier!]);
    await putItem(local(), {
      pk: { S: 'payments#claim#orphan-claim-1' },
      sk: { S: 'claim' },
      seq: { S: earlier!.sequenceNumber.padStart(128, '0') },
      shard: { S: earlier!.shardId },
      request_id: { S: 'crashed-invocation' },
      claimed_at: { S: now() },
      expiresAt: { N: String(Math.floor(Date.now() / 1000) + 86_400) },
    });
    const body = { payment_id: 'p-orphan', order_id: 'o-orphan', amount: 40, currency: 'EUR', status: 'captured', method: 'card', event_id: 'orphan-claim-1' };
    const replay = await accept(local(), 'payments', body);
    await settled(local(), 'payments', [replay]);
    await notDiverted('payments', replay);
    const item = await eventually(() => getItem(local(), 'payments#order#o-orphan', 'payments'), 5_000, 'the replay applied').catch(() => undefined);
    expect(item?.captured_total, 'the replay is applied, not skipped as a duplicate').toBe(40);
    // A second replay is now a real client retry: applied once in all.
    const again = await accept(local(), 'payments', body);
    await settled(local(), 'payments', [again]);
    expect((await getItem(local(), 'payments#order#o-orphan', 'payments'))?.captured_total).toBe(40);
  });
});

describe('the same event_id with a different body (seen 5)', () => {
  it('is not applied and is reported with both sequence numbers; the same body again is a silent retry', async () => {
    const base = { payment_id: 'p-conflict', order_id: 'o-conflict', currency: 'EUR', status: 'captured', method: 'card', event_id: 'conflict-1' };
    const first = await accept(local(), 'payments', { ...base, amount: 10 });
    const retry = await accept(local(), 'payments', { ...base, amount: 10 });
    const other = await accept(local(), 'payments', { ...base, amount: 99 });
    await settled(local(), 'payments', [first, retry, other]);
    expect((await getItem(local(), 'payments#order#o-conflict', 'payments'))?.captured_total).toBe(10);
    const mentions = (seq: string) => local().alertSink.events().filter((a) => JSON.stringify(a.detail).includes(seq));
    const conflict = await eventually(() => mentions(other.sequenceNumber).find((a) => JSON.stringify(a.detail).includes(first.sequenceNumber)), 10_000, 'an alert naming both sequence numbers').catch(() => undefined);
    expect(conflict, 'an alert naming the first and the conflicting record').toBeDefined();
    expect(mentions(retry.sequenceNumber).filter((a) => a !== conflict && JSON.stringify(a.detail).includes(first.sequenceNumber)), 'the identical retry raises nothing').toEqual([]);
  });
});

describe('event time bounds (seen 6)', () => {
  it('a far-future timestamp (9999-12-31) is malformed, timestamp_out_of_range, and leaves the student\'s windows alone', async () => {
    const student = 'stu-far-future';
    const started = (n: number) => ({ event_type: 'session_started', timestamp: now(), payload: { session_id: `s-ff-${n}`, student_id: student, tutor_id: 'tut-ff', subject: 'physics' } });
    const w1 = await accept(local(), 'tutoring', started(1));
    const future = await accept(local(), 'tutoring', { event_type: 'ib_call_logged', timestamp: '9999-12-31T00:00:00Z', payload: { student_id: student, call_id: 'c-9999' } });
    const w2 = await accept(local(), 'tutoring', started(2));
    await settled(local(), 'tutoring', [w1, future, w2]);
    const m = await malformedOf(local(), 'tutoring', future);
    expect(m?.reason).toBe('timestamp_out_of_range');
    const agg = await getItem(local(), `tutoring#student#${student}`, 'aggregate');
    expect(agg?.sessions_7d, 'both real sessions count').toBe(2);
    expect(agg?.ib_calls_14d).toBe(0);
    expect(String(agg?.as_of)).not.toMatch(/^9999/);
  });

  it('timestamps before 1970 are malformed, timestamp_out_of_range, in every family that takes a timestamp', async () => {
    const old = '1969-07-20T20:17:00Z';
    const cases = [
      ['user_activity', { user_id: 'u-1969', action: 'moon', timestamp: old }, 'user_activity#user#u-1969', 'profile'],
      ['orders', { order_id: 'o-1969', customer_id: 'c-1', type: 'cancelled', timestamp: old }, 'orders#order#o-1969', 'order'],
      ['payments', { payment_id: 'p-1969', order_id: 'o-1969', amount: 1, currency: 'EUR', status: 'captured', method: 'card', timestamp: old }, 'payments#order#o-1969', 'payments'],
      ['tutoring', { event_type: 'session_started', timestamp: old, payload: { session_id: 's-1969', student_id: 'stu-1969', tutor_id: 'tut-1969' } }, 'tutoring#student#stu-1969', 'aggregate'],
    ] as const;
    for (const [family, body, pk, sk] of cases) {
      const w = await accept(local(), family, body);
      await settled(local(), family, [w]);
      const m = await malformedOf(local(), family, w);
      expect(m?.reason, family).toBe('timestamp_out_of_range');
      expect(await getItem(local(), pk, sk), `${family}: no item written from a pre-1970 time`).toBeUndefined();
    }
  });

  it('a late event older than every window changes no window', async () => {
    const student = 'stu-late';
    const at = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString();
    const w1 = await accept(local(), 'tutoring', { event_type: 'session_started', timestamp: at(0), payload: { session_id: 's-late-1', student_id: student, tutor_id: 'tut-late' } });
    await settled(local(), 'tutoring', [w1]);
    const before = await getItem(local(), `tutoring#student#${student}`, 'aggregate');
    const w2 = await accept(local(), 'tutoring', { event_type: 'session_started', timestamp: at(60), payload: { session_id: 's-late-2', student_id: student, tutor_id: 'tut-late' } });
    await settled(local(), 'tutoring', [w2]);
    const after = await getItem(local(), `tutoring#student#${student}`, 'aggregate');
    for (const field of ['sessions_7d', 'sessions_14d', 'sessions_30d', 'days', 'as_of']) expect(after?.[field], field).toEqual(before?.[field]);
    expect(after?.sessions_30d).toBe(1);
  });
});

// Seen failing before the gateway bounded nesting (local/json-text.ts): it answered 500 and logged nothing.

describe('bodies the gateway cannot render (seen 9)', () => {
  it('a body nested 10,000 levels deep gets a 400 with a message, not a 500, and the API keeps working', async () => {
    const depth = 10_000;
    const deep = `{"user_id":"u-deep","action":"deep","metadata":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const r = await post(`${local().apiUrl}/events/user_activity`, deep);
    expect(r.status).toBe(400);
    expect(r.json.message).toEqual(expect.any(String));
    const nestedObjects = `{"user_id":"u-deep","action":"deep","metadata":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const r2 = await post(`${local().apiUrl}/events/user_activity`, nestedObjects);
    expect(r2.status).toBe(400);
    await accept(local(), 'user_activity', { user_id: 'u-after-deep', action: 'ok' });
  });
});

describe('oversize and edge values', () => {
  it('a 900 KB metadata value: the API refuses it with a 400 that does not echo it; written straight onto the stream it is applied once, far from the item limit', async () => {
    const blob = 'b'.repeat(900_000);
    // The models bound free-form values (modules/model-bounds.ts) and guard what the validator would quote back.
    const refused = await post(`${local().apiUrl}/events/user_activity`, { user_id: 'u-blob', action: 'upload', metadata: { blob } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json).length).toBeLessThan(2_000);
    const [w] = await putDirect(local(), 'user_activity', [{ partitionKey: 'u-blob', data: envelope('user_activity', { user_id: 'u-blob', action: 'upload', metadata: { blob } }) }]);
    await settled(local(), 'user_activity', [w!]);
    await notDiverted('user_activity', w!);
    expect((await getItem(local(), 'user_activity#user#u-blob', 'profile'))?.total).toBe(1);
  });

  it('a ~1 MB record that is not JSON, straight onto the stream, is kept truncated in the malformed sink with its length', async () => {
    const raw = `{"broken": "${'z'.repeat(1_000_000)}`;
    const [w] = await putDirect(local(), 'orders', [{ partitionKey: 'o-huge-garbage', data: raw }]);
    await settled(local(), 'orders', [w!]);
    const m = await malformedOf(local(), 'orders', w!);
    expect(m?.reason).toBe('not_json');
    expect(m?.raw_data_truncated).toBe(true);
    expect(m?.raw_length).toBeGreaterThan(1_000_000);
  });

  it('an order with 500 items of 128-character skus and the largest amounts is applied', async () => {
    const sku = (n: number) => `${String(n).padStart(4, '0')}${'s'.repeat(124)}`;
    const items = Array.from({ length: 500 }, (_, n) => ({ sku: sku(n), quantity: 10_000, unit_price: 1_000_000_000 }));
    const w = await accept(local(), 'orders', { order_id: 'o-max', customer_id: 'c-max', type: 'created', items, total_amount: 1_000_000_000, currency: 'EUR' });
    await settled(local(), 'orders', [w]);
    await notDiverted('orders', w);
    const item = await getItem(local(), 'orders#order#o-max', 'order');
    expect(item?.item_count).toBe(5_000_000);
    expect(item?.items).toHaveLength(500);
  });

  it('payments at the bounds: the largest amount twice, cents that do not add up in binary floating point', async () => {
    const base = { order_id: 'o-edge-pay', currency: 'EUR', status: 'captured', method: 'wallet' } as const;
    const written = [
      await accept(local(), 'payments', { ...base, payment_id: 'p-max-1', amount: 1_000_000_000 }),
      await accept(local(), 'payments', { ...base, payment_id: 'p-max-2', amount: 1_000_000_000 }),
      await accept(local(), 'payments', { ...base, order_id: 'o-edge-cents', payment_id: 'p-c1', amount: 0.1 }),
      await accept(local(), 'payments', { ...base, order_id: 'o-edge-cents', payment_id: 'p-c2', amount: 0.2 }),
      await accept(local(), 'payments', { ...base, order_id: 'o-edge-zero', payment_id: 'p-zero', amount: 0 }),
    ];
    await settled(local(), 'payments', written);
    for (const w of written) await notDiverted('payments', w);
    expect((await getItem(local(), 'payments#order#o-edge-pay', 'payments'))?.captured_total).toBe(2_000_000_000);
    expect((await getItem(local(), 'payments#order#o-edge-cents', 'payments'))?.captured_total).toBe(0.3);
    expect((await getItem(local(), 'payments#order#o-edge-zero', 'payments'))?.captured_total).toBe(0);
  });

  it('tutoring at the bounds: health 0 and 100, ratings 1 and 5, a 24-hour session, 168 available hours, counts of 1,000,000', async () => {
    const t = now();
    const written = [
      await accept(local(), 'tutoring', { event_type: 'customer_health_update', timestamp: t, payload: { student_id: 'stu-edge', health_score: 0, sessions_last_7_days: 1_000_000, sessions_last_30_days: 1_000_000, ib_calls_last_14_days: 0 } }),
      await accept(local(), 'tutoring', { event_type: 'session_completed', timestamp: t, payload: { session_id: 's-e1', student_id: 'stu-edge', tutor_id: 'tut-edge', duration_minutes: 1440, tutor_rating: 5 } }),
      await accept(local(), 'tutoring', { event_type: 'session_completed', timestamp: t, payload: { session_id: 's-e2', student_id: 'stu-edge', tutor_id: 'tut-edge', duration_minutes: 0, tutor_rating: 1 } }),
      await accept(local(), 'tutoring', { event_type: 'tutor_availability_updated', timestamp: t, payload: { tutor_id: 'tut-edge', available_hours: 168, subjects: Array.from({ length: 50 }, (_, n) => `s${n}`) } }),
      await accept(local(), 'tutoring', { event_type: 'customer_health_update', timestamp: new Date(Date.now() + 1000).toISOString(), payload: { student_id: 'stu-edge-ok', health_score: 100 } }),
    ];
    await settled(local(), 'tutoring', written);
    for (const w of written) await notDiverted('tutoring', w);
    const student = await getItem(local(), 'tutoring#student#stu-edge', 'aggregate');
    expect(student).toMatchObject({ health_score: 0, health_level: 'critical', completed_sessions_7d: 2 });
    const tutor = await getItem(local(), 'tutoring#tutor#tut-edge', 'aggregate');
    expect(tutor).toMatchObject({ rating_sum: 6, rating_count: 2, avg_rating: 3, session_minutes_7d: 1440, available_hours: 168 });
    expect(tutor?.subjects).toHaveLength(50);
    expect((await getItem(local(), 'tutoring#student#stu-edge-ok', 'aggregate'))?.health_level).toBe('ok');
    await eventually(() => local().alertSink.events().find((a) => (a.detail as { entity_id?: string }).entity_id === 'stu-edge' && a.detailType === 'low_health_score'), 10_000, 'the critical health alert');
  });
});
