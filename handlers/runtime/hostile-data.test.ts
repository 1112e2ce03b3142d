/**
 * Issue 8, the runtime's side: whatever the data, nothing accepted is lost or
 * corrupted. Real processors, real dynalite (which enforces DynamoDB's key and
 * item size limits), a real PutEvents endpoint; faults only at the HTTP level.
 */
import { describe, expect, it } from 'vitest';
import { alertDetails, useHarness } from '../../test/support/harness.js';
import { envelope, kinesisEvent, rawJson, records, sequenceNumber } from '../../test/support/kinesis.js';
import { tutoring } from '../tutoring/family.js';
import { handler as tutoringHandler } from '../tutoring/handler.js';
import { userActivity } from '../user_activity/family.js';
import { handler as userActivityHandler } from '../user_activity/handler.js';
import { itemSize, MAX_ITEM_BYTES } from './item-size.js';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { toAttributeMap } from './attributes.js';
import { PoisonRecordError } from './errors.js';
import { createProcessor } from './processor.js';
import { effect } from './effect.js';

const h = useHarness();

const failures = (res: { batchItemFailures: { itemIdentifier: string }[] }) => res.batchItemFailures.map((f) => f.itemIdentifier);
const find = async (pk: string, sk: string) => (await h().scan()).find((i) => i.pk === pk && i.sk === sk);
const malformed = async (family: string) => (await h().scan()).filter((i) => i.pk === `${family}#malformed`);
const emf = () => Object.assign({}, ...h().takeOutput().filter((o) => o._aws));
const session = (student_id: string, minute: number, subject = 'math') => ({
  event_type: 'session_started',
  timestamp: new Date(Date.parse('2026-11-23T08:00:00Z') + minute * 60_000).toISOString(),
  payload: { session_id: `s-${student_id}-${minute}`, student_id, tutor_id: `t-${minute % 7}`, subject },
});
const good = (user_id: string) => ({ user_id, action: 'page_view' });

describe('bounded items', () => {
  it('a subject shared by 1,200 distinct students keeps one fence per shard, whatever the number of partition keys', async () => {
    const students = Array.from({ length: 1_200 }, (_, i) => `stu-${i}`);
    for (let start = 0; start < students.length; start += 400) {
      const batch = records(tutoring, students.slice(start, start + 400).map((s, i) => session(s, start + i)), start + 1);
      expect(failures(await tutoringHandler(kinesisEvent(batch)))).toEqual([]);
    }
    const subject = await find('tutoring#subject#math', 'aggregate');
    expect(subject).toMatchObject({ sessions_7d: 1_200 });
    expect(Object.keys(subject!.hw as object)).toEqual(['shardId-000000000000']);
    // Far below the bound the README states for a subject item (fences per shard, 30 day buckets, counters).
    expect(itemSize(subject!)).toBeLessThan(4_096);
    // Redelivering the middle batch changes nothing.
    await tutoringHandler(kinesisEvent(records(tutoring, students.slice(400, 800).map((s, i) => session(s, 400 + i)), 401)));
    expect(await find('tutoring#subject#math', 'aggregate')).toMatchObject({ sessions_7d: 1_200 });
  }, 300_000);

  it('an item raising many alerts in one batch keeps at most MAX_ALERTS_PER_ITEM in its outbox; every alert goes out once', async () => {
    const flip = (i: number) => ({
      event_type: 'supply_demand_update',
      timestamp: new Date(Date.parse('2026-11-23T08:00:00Z') + i * 60_000).toISOString(),
      payload: { subject: 'math', region: 'eu', available_tutors: 1, active_students: 9, demand_score: 90, supply_score: 10, balance_status: i % 2 ? 'balanced' : 'high_demand' },
    });
    const outboxSizes: number[] = [];
    h().proxy.setFault((r) => {
      if (r.operation === 'PutItem' && r.body?.Item?.sk?.S === 'region#eu') outboxSizes.push(r.body.Item.outbox.L.length);
      return undefined;
    });
    const batch = kinesisEvent(records(tutoring, Array.from({ length: 100 }, (_, i) => flip(i))));
    expect(failures(await tutoringHandler(batch))).toEqual([]);
    expect(Math.max(...outboxSizes)).toBeLessThanOrEqual(10);
    expect(outboxSizes.length).toBeGreaterThanOrEqual(5);
    const alerts = alertDetails(h().sink).filter((a) => a.alert_type === 'supply_demand_imbalance');
    expect(alerts).toHaveLength(50);
    expect(new Set(alerts.map((a) => a.alert_id)).size).toBe(50);
    expect(emf()).toMatchObject({ ProcessedEvents: 100, FailedEvents: 0, AlertsPublished: 50 });
    // Redelivered: nothing new.
    expect(failures(await tutoringHandler(batch))).toEqual([]);
    expect(alertDetails(h().sink).filter((a) => a.alert_type === 'supply_demand_imbalance')).toHaveLength(50);
  });

  it('computes item sizes the way DynamoDB counts them', () => {
    // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
    expect(itemSize({ a: 'héllo' })).toBe(1 + 6);
    expect(itemSize({ n: 12345 })).toBe(1 + 3 + 1);
    expect(itemSize({ b: true, z: null })).toBe(2 + 2);
    expect(itemSize({ m: { x: 'y' }, l: ['ab', 1] })).toBe(1 + 3 + (1 + 1 + 1) + 1 + 3 + (1 + 2) + (1 + 2));
    expect(MAX_ITEM_BYTES).toBe(400 * 1024);
  });

  it('an item that would outgrow 400 KB is never written: the record responsible goes to the malformed sink, its neighbours are applied', async () => {
    // A test-only effect that appends 150 KB per event to one item.
    const growing = createProcessor(userActivity, (event) => [
      effect<{ blob: string }>({ entity: 'user', id: event.user_id, sort: 'blob' }, (s) => {
        s.blob = `${s.blob ?? ''}${'x'.repeat(150_000)}`;
      }),
    ]);
    const res = await growing.handler(kinesisEvent(records(userActivity, [good('big'), good('big'), good('other'), good('big')])));
    expect(failures(res)).toEqual([]);
    expect(((await find('user_activity#user#big', 'blob'))!.blob as string).length).toBe(300_000);
    expect(await find('user_activity#user#other', 'blob')).toBeDefined();
    const sink = await malformed('user_activity');
    expect(sink.map((i) => [i.sk, i.reason])).toEqual([
      [`shardId-000000000000#${sequenceNumber(4).padStart(128, '0')}`, 'item_too_large'],
    ]);
    expect(alertDetails(h().sink).map((a) => a.details.reason)).toEqual(['item_too_large']);
  });
});

describe('poison records never take their neighbours down', () => {
  it('a 3,000-character idempotency key written straight onto the stream is malformed; its neighbours are applied', async () => {
    const poison = rawJson(envelope(userActivity, good('u-1'), { key: 'k'.repeat(3_000) }), 'u-1');
    const res = await userActivityHandler(kinesisEvent(records(userActivity, [good('u-0'), poison, good('u-2')])));
    expect(failures(res)).toEqual([]);
    expect(await find('user_activity#user#u-0', 'profile')).toMatchObject({ total: 1 });
    expect(await find('user_activity#user#u-2', 'profile')).toMatchObject({ total: 1 });
    expect((await malformed('user_activity')).map((i) => [i.reason, i.sequence_number])).toEqual([['invalid_envelope', sequenceNumber(2)]]);
  });

  it('an envelope receivedAt of 1e20 is malformed, not a RangeError', async () => {
    const poison = rawJson(envelope(userActivity, good('u-1'), { receivedAt: 1e20 }), 'u-1');
    const res = await userActivityHandler(kinesisEvent(records(userActivity, [good('u-0'), poison])));
    expect(failures(res)).toEqual([]);
    expect((await malformed('user_activity')).map((i) => i.reason)).toEqual(['invalid_envelope']);
  });

  it('a write DynamoDB refuses as invalid (ValidationException) sends that record to the malformed sink and is not retried', async () => {
    h().proxy.setFault((r) =>
      r.operation === 'PutItem' && r.body?.Item?.pk?.S === 'user_activity#user#bad' ? { status: 400, type: 'ValidationException', message: 'injected: invalid' } : undefined,
    );
    const res = await userActivityHandler(kinesisEvent(records(userActivity, [good('u-0'), good('bad'), good('u-2')])));
    expect(failures(res)).toEqual([]);
    h().proxy.setFault(undefined);
    expect(await find('user_activity#user#u-2', 'profile')).toMatchObject({ total: 1 });
    expect((await malformed('user_activity')).map((i) => [i.reason, i.sequence_number])).toEqual([['write_rejected', sequenceNumber(2)]]);
  });

  it('an effect key over DynamoDB\'s limit, a number DynamoDB cannot store and an effect\'s PoisonRecordError each send only their record to the malformed sink', async () => {
    const picky = createProcessor(userActivity, (event) => [
      // An effect keyed by something unbounded: DynamoDB refuses partition keys over 2,048 bytes.
      effect<{ score: number; total: number }>({ entity: 'user', id: event.user_id === 'long' ? 'é'.repeat(1_100) : event.user_id, sort: 'profile' }, (s) => {
        if (event.user_id === 'huge') s.score = Number.POSITIVE_INFINITY;
        if (event.user_id === 'refused') throw new PoisonRecordError('value_out_of_range', 'this effect refuses it');
        s.total = (s.total ?? 0) + 1;
      }),
    ]);
    const res = await picky.handler(kinesisEvent(records(userActivity, [good('u-0'), good('long'), good('huge'), good('refused'), good('u-0')])));
    expect(failures(res)).toEqual([]);
    expect(await find('user_activity#user#u-0', 'profile')).toMatchObject({ total: 2 });
    expect((await malformed('user_activity')).map((i) => [i.sequence_number, i.reason])).toEqual([
      [sequenceNumber(2), 'key_too_large'],
      [sequenceNumber(3), 'value_out_of_range'],
      [sequenceNumber(4), 'value_out_of_range'],
    ]);
    expect(await find('user_activity#user#huge', 'profile')).toBeUndefined();
  });

  it('a client error that is the deployment\'s (AccessDeniedException) fails the invocation instead of filling the malformed sink', async () => {
    h().proxy.setFault((r) => (r.operation === 'PutItem' ? { status: 400, type: 'AccessDeniedException', message: 'injected: not allowed' } : undefined));
    await expect(userActivityHandler(kinesisEvent(records(userActivity, [good('u-0'), good('u-1')])))).rejects.toThrow(/not allowed/);
    h().proxy.setFault(undefined);
    expect(await malformed('user_activity')).toEqual([]);
  });

  it('throttling is still a dependency failure: the record and the later ones of its shard are retried', async () => {
    h().proxy.setFault((r) =>
      r.operation === 'PutItem' && r.body?.Item?.pk?.S === 'user_activity#user#slow'
        ? { status: 400, type: 'ProvisionedThroughputExceededException', message: 'injected' }
        : undefined,
    );
    const res = await userActivityHandler(kinesisEvent(records(userActivity, [good('u-0'), good('slow'), good('u-2')])));
    expect(failures(res)).toEqual([sequenceNumber(2), sequenceNumber(3)]);
    expect(await malformed('user_activity')).toEqual([]);
  });
});

describe('claims only with effects', () => {
  it('a crash before the effects are written leaves no claim, so the replayed event is applied', async () => {
    let crash = true;
    const flaky = createProcessor(userActivity, (event) => [
      effect<{ total: number }>({ entity: 'user', id: event.user_id, sort: 'profile' }, (s) => {
        if (crash) throw new TypeError('a bug');
        s.total = (s.total ?? 0) + 1;
      }),
    ]);
    const body = { ...good('u-1'), event_id: 'evt-crash' };
    await expect(flaky.handler(kinesisEvent(records(userActivity, [body])))).rejects.toThrow(TypeError);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await find('user_activity#claim#evt-crash', 'claim')).toBeUndefined();
    crash = false;
    // The client sends it again after the fix (a new record, a new sequence number).
    expect(failures(await flaky.handler(kinesisEvent(records(userActivity, [body], 5))))).toEqual([]);
    expect(await find('user_activity#user#u-1', 'profile')).toMatchObject({ total: 1 });
    expect(await find('user_activity#claim#evt-crash', 'claim')).toMatchObject({ seq: sequenceNumber(5).padStart(128, '0') });
  });

  it('a failed item write leaves no claim; the redelivery writes both', async () => {
    h().proxy.setFault((r) => (r.operation === 'PutItem' ? { status: 500, type: 'InternalServerError', message: 'injected' } : undefined));
    const batch = records(userActivity, [{ ...good('u-1'), event_id: 'evt-1' }]);
    expect(failures(await userActivityHandler(kinesisEvent(batch)))).toEqual([sequenceNumber(1)]);
    expect(await find('user_activity#claim#evt-1', 'claim')).toBeUndefined();
    h().proxy.setFault(undefined);
    expect(failures(await userActivityHandler(kinesisEvent(batch)))).toEqual([]);
    expect(await find('user_activity#claim#evt-1', 'claim')).toBeDefined();
    expect(await find('user_activity#user#u-1', 'profile')).toMatchObject({ total: 1 });
  });

  it('a claim an earlier version left without its effects is taken over: the replay is applied once', async () => {
    // The claim names record 1 of this shard, but no item shows its effect (it crashed between claim and write).
    await h().db.client.send(
      new PutItemCommand({
        TableName: process.env.TABLE_NAME!,
        Item: toAttributeMap({ pk: 'user_activity#claim#evt-orphan', sk: 'claim', seq: sequenceNumber(1).padStart(128, '0'), shard: 'shardId-000000000000', request_id: 'req-1' }),
      }),
    );
    const body = { ...good('u-orphan'), event_id: 'evt-orphan' };
    expect(failures(await userActivityHandler(kinesisEvent(records(userActivity, [body], 7))))).toEqual([]);
    expect(await find('user_activity#user#u-orphan', 'profile')).toMatchObject({ total: 1 });
    expect(await find('user_activity#claim#evt-orphan', 'claim')).toMatchObject({ seq: sequenceNumber(7).padStart(128, '0') });
    // From now on a real client retry.
    expect(failures(await userActivityHandler(kinesisEvent(records(userActivity, [body], 9))))).toEqual([]);
    expect(await find('user_activity#user#u-orphan', 'profile')).toMatchObject({ total: 1 });
  });

  it('a claim whose effects are there is trusted, even when the fence of its shard was pruned since', async () => {
    const body = { ...good('u-kept'), event_id: 'evt-kept' };
    expect(failures(await userActivityHandler(kinesisEvent(records(userActivity, [body]))))).toEqual([]);
    // Another shard's retry of the same event long after: the item holds no fence for the first shard any more.
    const profile = (await find('user_activity#user#u-kept', 'profile'))!;
    await h().db.client.send(new PutItemCommand({ TableName: process.env.TABLE_NAME!, Item: toAttributeMap({ ...profile, hw: {} }) }));
    expect(failures(await userActivityHandler(kinesisEvent(records(userActivity, [body], 5, 'shardId-000000000001'))))).toEqual([]);
    expect(await find('user_activity#user#u-kept', 'profile')).toMatchObject({ total: 1 });
  });
});

describe('idempotency conflicts', () => {
  it('a reused event_id with a different body is not applied, and is reported by a metric and an alert naming both records', async () => {
    const first = { ...good('u-1'), event_id: 'evt-7' };
    const second = { ...good('u-1'), action: 'click', event_id: 'evt-7' };
    expect(failures(await userActivityHandler(kinesisEvent(records(userActivity, [first]))))).toEqual([]);
    h().takeOutput();
    // Same body again: a client retry, silently skipped. Different body: a conflict.
    expect(failures(await userActivityHandler(kinesisEvent(records(userActivity, [first, second], 2))))).toEqual([]);
    expect(await find('user_activity#user#u-1', 'profile')).toMatchObject({ total: 1, actions: { page_view: 1 } });
    expect(emf()).toMatchObject({ DuplicateEvents: 1, IdempotencyConflicts: 1 });
    const alerts = alertDetails(h().sink).filter((a) => a.alert_type === 'IdempotencyConflict');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      entity_type: 'idempotency_key',
      entity_id: 'evt-7',
      details: { reason: 'idempotency_conflict', sequence_number: sequenceNumber(3), claimed_by: { sequence_number: sequenceNumber(1) } },
    });
    // Kept, with its payload, where someone can look at it.
    expect((await malformed('user_activity')).map((i) => i.reason)).toEqual(['idempotency_conflict']);
  });

  it('detects a conflict inside one batch too', async () => {
    const res = await userActivityHandler(
      kinesisEvent(records(userActivity, [{ ...good('u-1'), event_id: 'evt-8' }, { ...good('u-9'), event_id: 'evt-8' }])),
    );
    expect(failures(res)).toEqual([]);
    expect(await find('user_activity#user#u-9', 'profile')).toBeUndefined();
    expect(alertDetails(h().sink).map((a) => a.alert_type)).toEqual(['IdempotencyConflict']);
  });
});

describe('event time bounds', () => {
  const ib = (timestamp: string) => ({ event_type: 'ib_call_logged', timestamp, payload: { student_id: 'stu-1', call_id: `c-${timestamp}` } });

  it('an event dated 9999-12-31 or before 1970 is malformed (timestamp_out_of_range) and changes no window', async () => {
    expect(failures(await tutoringHandler(kinesisEvent(records(tutoring, [ib('2026-11-22T10:00:00Z'), ib('9999-12-31T00:00:00Z'), ib('1969-07-20T20:17:00Z')]))))).toEqual([]);
    expect(failures(await tutoringHandler(kinesisEvent(records(tutoring, [ib('2026-11-23T09:00:00Z')], 4))))).toEqual([]);
    const student = await find('tutoring#student#stu-1', 'aggregate');
    expect(student).toMatchObject({ ib_calls_7d: 2, as_of: '2026-11-23T09:00:00.000Z' });
    expect((await malformed('tutoring')).map((i) => i.reason)).toEqual(['timestamp_out_of_range', 'timestamp_out_of_range']);
  });

  it('an event beyond the tolerance after its arrival is malformed; within it, it is applied (EVENT_TIME_TOLERANCE_SECONDS)', async () => {
    process.env.EVENT_TIME_TOLERANCE_SECONDS = '3600';
    try {
      const arrival = records(tutoring, [ib('2026-01-01T00:00:00Z')])[0]!.kinesis.approximateArrivalTimestamp * 1000;
      const res = await tutoringHandler(kinesisEvent(records(tutoring, [ib(new Date(arrival + 3_000_000).toISOString()), ib(new Date(arrival + 3_700_000).toISOString())])));
      expect(failures(res)).toEqual([]);
      expect((await malformed('tutoring')).map((i) => [i.reason, i.sequence_number])).toEqual([['timestamp_out_of_range', sequenceNumber(2)]]);
    } finally {
      delete process.env.EVENT_TIME_TOLERANCE_SECONDS;
    }
  });
});
