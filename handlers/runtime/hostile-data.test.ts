/**
 * Issue 8, the runtime's side: whatever the data, nothing accepted is lost or
 * corrupted. Real processors of test-only families (test/support/families.ts),
 * real dynalite (which enforces DynamoDB's key and item size limits), a real
 * PutEvents endpoint; faults only at the HTTP level.
 */
import { describe, expect, it } from 'vitest';
import { alertDetails, useHarness } from '../../test/support/harness.js';
import { envelope, kinesisEvent, rawJson, records, sequenceNumber } from '../../test/support/kinesis.js';
import { rtCounter, rtCounterProcessor, rtPoison, rtPoisonProcessor } from '../../test/support/families.js';
import { itemSize, MAX_ITEM_BYTES } from './item-size.js';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { toAttributeMap } from './attributes.js';
import { createProcessor } from './processor.js';
import { effect } from './effect.js';

const h = useHarness();

const failures = (res: { batchItemFailures: { itemIdentifier: string }[] }) => res.batchItemFailures.map((f) => f.itemIdentifier);
const find = async (pk: string, sk: string) => (await h().scan()).find((i) => i.pk === pk && i.sk === sk);
const malformed = async (family: string) => (await h().scan()).filter((i) => i.pk === `${family}#malformed`);
const emf = () => Object.assign({}, ...h().takeOutput().filter((o) => o._aws));
const minute = (n: number) => new Date(Date.parse('2026-11-23T08:00:00Z') + n * 60_000).toISOString();
const good = (key: string) => ({ key });
const handler = rtCounterProcessor.handler;

describe('bounded items', () => {
  it('an item shared by 1,200 distinct partition keys keeps one fence per shard, whatever the number of partition keys', async () => {
    const keys = Array.from({ length: 1_200 }, (_, i) => `key-${i}`);
    const bodies = (from: number, to: number) => keys.slice(from, to).map((key, i) => ({ key, group: 'shared', timestamp: minute(from + i) }));
    for (let start = 0; start < keys.length; start += 400) {
      const batch = records(rtCounter, bodies(start, start + 400), start + 1);
      expect(failures(await handler(kinesisEvent(batch)))).toEqual([]);
    }
    const group = await find('rt_counter#group#shared', 'total');
    expect(group).toMatchObject({ count: 1_200 });
    expect(Object.keys(group!.hw as object)).toEqual(['shardId-000000000000']);
    // A fence per partition key would take over 100 KB here; one per shard and a counter stay tiny.
    expect(itemSize(group!)).toBeLessThan(4_096);
    // Redelivering the middle batch changes nothing.
    await handler(kinesisEvent(records(rtCounter, bodies(400, 800), 401)));
    expect(await find('rt_counter#group#shared', 'total')).toMatchObject({ count: 1_200 });
  }, 300_000);

  it('an item raising many alerts in one batch keeps at most MAX_ALERTS_PER_ITEM in its outbox; every alert goes out once', async () => {
    // Adding 1, then 2, reaches another multiple of 3 on every second record: 50 alerts on one item.
    const hot = (i: number) => ({ key: 'hot', amount: i % 2 ? 2 : 1, timestamp: minute(i) });
    const outboxSizes: number[] = [];
    h().proxy.setFault((r) => {
      if (r.operation === 'PutItem' && r.body?.Item?.pk?.S === 'rt_counter#counter#hot') outboxSizes.push(r.body.Item.outbox.L.length);
      return undefined;
    });
    const batch = kinesisEvent(records(rtCounter, Array.from({ length: 100 }, (_, i) => hot(i))));
    expect(failures(await handler(batch))).toEqual([]);
    expect(Math.max(...outboxSizes)).toBeLessThanOrEqual(10);
    expect(outboxSizes.length).toBeGreaterThanOrEqual(5);
    const alerts = alertDetails(h().sink).filter((a) => a.alert_type === 'count_threshold_crossed');
    expect(alerts).toHaveLength(50);
    expect(new Set(alerts.map((a) => a.alert_id)).size).toBe(50);
    expect(emf()).toMatchObject({ ProcessedEvents: 100, FailedEvents: 0, AlertsPublished: 50 });
    // Redelivered: nothing new.
    expect(failures(await handler(batch))).toEqual([]);
    expect(alertDetails(h().sink).filter((a) => a.alert_type === 'count_threshold_crossed')).toHaveLength(50);
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
    const grow = (key: string) => ({ key, grow: 150_000 });
    const res = await rtPoisonProcessor.handler(kinesisEvent(records(rtPoison, [grow('big'), grow('big'), grow('other'), grow('big')])));
    expect(failures(res)).toEqual([]);
    expect(((await find('rt_poison#thing#big', 'state'))!.blob as string).length).toBe(300_000);
    expect(await find('rt_poison#thing#other', 'state')).toBeDefined();
    const sink = await malformed('rt_poison');
    expect(sink.map((i) => [i.sk, i.reason])).toEqual([
      [`shardId-000000000000#${sequenceNumber(4).padStart(128, '0')}`, 'item_too_large'],
    ]);
    expect(alertDetails(h().sink).map((a) => a.details.reason)).toEqual(['item_too_large']);
  });
});

describe('poison records never take their neighbours down', () => {
  it('a 3,000-character idempotency key written straight onto the stream is malformed; its neighbours are applied', async () => {
    const poison = rawJson(envelope(rtCounter, good('u-1'), { key: 'k'.repeat(3_000) }), 'u-1');
    const res = await handler(kinesisEvent(records(rtCounter, [good('u-0'), poison, good('u-2')])));
    expect(failures(res)).toEqual([]);
    expect(await find('rt_counter#counter#u-0', 'count')).toMatchObject({ count: 1 });
    expect(await find('rt_counter#counter#u-2', 'count')).toMatchObject({ count: 1 });
    expect((await malformed('rt_counter')).map((i) => [i.reason, i.sequence_number])).toEqual([['invalid_envelope', sequenceNumber(2)]]);
  });

  it('an envelope receivedAt of 1e20 is malformed, not a RangeError', async () => {
    const poison = rawJson(envelope(rtCounter, good('u-1'), { receivedAt: 1e20 }), 'u-1');
    const res = await handler(kinesisEvent(records(rtCounter, [good('u-0'), poison])));
    expect(failures(res)).toEqual([]);
    expect((await malformed('rt_counter')).map((i) => i.reason)).toEqual(['invalid_envelope']);
  });

  it('a write DynamoDB refuses as invalid (ValidationException) sends that record to the malformed sink and is not retried', async () => {
    h().proxy.setFault((r) =>
      r.operation === 'PutItem' && r.body?.Item?.pk?.S === 'rt_counter#counter#bad' ? { status: 400, type: 'ValidationException', message: 'injected: invalid' } : undefined,
    );
    const res = await handler(kinesisEvent(records(rtCounter, [good('u-0'), good('bad'), good('u-2')])));
    expect(failures(res)).toEqual([]);
    h().proxy.setFault(undefined);
    expect(await find('rt_counter#counter#u-2', 'count')).toMatchObject({ count: 1 });
    expect((await malformed('rt_counter')).map((i) => [i.reason, i.sequence_number])).toEqual([['write_rejected', sequenceNumber(2)]]);
  });

  it('an effect key over DynamoDB\'s limit, a number DynamoDB cannot store and an effect\'s PoisonRecordError each send only their record to the malformed sink', async () => {
    const bodies = [{ key: 'u-0' }, { key: 'long', fault: 'key_too_long' }, { key: 'huge', fault: 'not_finite' }, { key: 'refused', fault: 'refused' }, { key: 'u-0' }];
    const res = await rtPoisonProcessor.handler(kinesisEvent(records(rtPoison, bodies)));
    expect(failures(res)).toEqual([]);
    expect(await find('rt_poison#thing#u-0', 'state')).toMatchObject({ total: 2 });
    expect((await malformed('rt_poison')).map((i) => [i.sequence_number, i.reason])).toEqual([
      [sequenceNumber(2), 'key_too_large'],
      [sequenceNumber(3), 'value_out_of_range'],
      [sequenceNumber(4), 'value_out_of_range'],
    ]);
    expect(await find('rt_poison#thing#huge', 'state')).toBeUndefined();
  });

  it('a client error that is the deployment\'s (AccessDeniedException) fails the invocation instead of filling the malformed sink', async () => {
    h().proxy.setFault((r) => (r.operation === 'PutItem' ? { status: 400, type: 'AccessDeniedException', message: 'injected: not allowed' } : undefined));
    await expect(handler(kinesisEvent(records(rtCounter, [good('u-0'), good('u-1')])))).rejects.toThrow(/not allowed/);
    h().proxy.setFault(undefined);
    expect(await malformed('rt_counter')).toEqual([]);
  });

  it('throttling is still a dependency failure: the record and the later ones of its shard are retried', async () => {
    h().proxy.setFault((r) =>
      r.operation === 'PutItem' && r.body?.Item?.pk?.S === 'rt_counter#counter#slow'
        ? { status: 400, type: 'ProvisionedThroughputExceededException', message: 'injected' }
        : undefined,
    );
    const res = await handler(kinesisEvent(records(rtCounter, [good('u-0'), good('slow'), good('u-2')])));
    expect(failures(res)).toEqual([sequenceNumber(2), sequenceNumber(3)]);
    expect(await malformed('rt_counter')).toEqual([]);
  });
});

describe('claims only with effects', () => {
  it('a crash before the effects are written leaves no claim, so the replayed event is applied', async () => {
    let crash = true;
    const flaky = createProcessor(rtCounter, (event) => [
      effect<{ count: number }>({ entity: 'counter', id: event.key, sort: 'count' }, (s) => {
        if (crash) throw new TypeError('a bug');
        s.count = (s.count ?? 0) + 1;
      }),
    ]);
    const body = { ...good('u-1'), event_id: 'evt-crash' };
    await expect(flaky.handler(kinesisEvent(records(rtCounter, [body])))).rejects.toThrow(TypeError);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await find('rt_counter#claim#evt-crash', 'claim')).toBeUndefined();
    crash = false;
    // The client sends it again after the fix (a new record, a new sequence number).
    expect(failures(await flaky.handler(kinesisEvent(records(rtCounter, [body], 5))))).toEqual([]);
    expect(await find('rt_counter#counter#u-1', 'count')).toMatchObject({ count: 1 });
    expect(await find('rt_counter#claim#evt-crash', 'claim')).toMatchObject({ seq: sequenceNumber(5).padStart(128, '0') });
  });

  it('a failed item write leaves no claim; the redelivery writes both', async () => {
    h().proxy.setFault((r) => (r.operation === 'PutItem' ? { status: 500, type: 'InternalServerError', message: 'injected' } : undefined));
    const batch = records(rtCounter, [{ ...good('u-1'), event_id: 'evt-1' }]);
    expect(failures(await handler(kinesisEvent(batch)))).toEqual([sequenceNumber(1)]);
    expect(await find('rt_counter#claim#evt-1', 'claim')).toBeUndefined();
    h().proxy.setFault(undefined);
    expect(failures(await handler(kinesisEvent(batch)))).toEqual([]);
    expect(await find('rt_counter#claim#evt-1', 'claim')).toBeDefined();
    expect(await find('rt_counter#counter#u-1', 'count')).toMatchObject({ count: 1 });
  });

  it('a claim an earlier version left without its effects is taken over: the replay is applied once', async () => {
    // The claim names record 1 of this shard, but no item shows its effect (it crashed between claim and write).
    await h().db.client.send(
      new PutItemCommand({
        TableName: process.env.TABLE_NAME!,
        Item: toAttributeMap({ pk: 'rt_counter#claim#evt-orphan', sk: 'claim', seq: sequenceNumber(1).padStart(128, '0'), shard: 'shardId-000000000000', request_id: 'req-1' }),
      }),
    );
    const body = { ...good('u-orphan'), event_id: 'evt-orphan' };
    expect(failures(await handler(kinesisEvent(records(rtCounter, [body], 7))))).toEqual([]);
    expect(await find('rt_counter#counter#u-orphan', 'count')).toMatchObject({ count: 1 });
    expect(await find('rt_counter#claim#evt-orphan', 'claim')).toMatchObject({ seq: sequenceNumber(7).padStart(128, '0') });
    // From now on a real client retry.
    expect(failures(await handler(kinesisEvent(records(rtCounter, [body], 9))))).toEqual([]);
    expect(await find('rt_counter#counter#u-orphan', 'count')).toMatchObject({ count: 1 });
  });

  it('a claim whose effects are there is trusted, even when the fence of its shard was pruned since', async () => {
    const body = { ...good('u-kept'), event_id: 'evt-kept' };
    expect(failures(await handler(kinesisEvent(records(rtCounter, [body]))))).toEqual([]);
    // Another shard's retry of the same event long after: the item holds no fence for the first shard any more.
    const counter = (await find('rt_counter#counter#u-kept', 'count'))!;
    await h().db.client.send(new PutItemCommand({ TableName: process.env.TABLE_NAME!, Item: toAttributeMap({ ...counter, hw: {} }) }));
    expect(failures(await handler(kinesisEvent(records(rtCounter, [body], 5, 'shardId-000000000001'))))).toEqual([]);
    expect(await find('rt_counter#counter#u-kept', 'count')).toMatchObject({ count: 1 });
  });
});

describe('idempotency conflicts', () => {
  it('a reused event_id with a different body is not applied, and is reported by a metric and an alert naming both records', async () => {
    const first = { ...good('u-1'), event_id: 'evt-7' };
    const second = { ...good('u-1'), amount: 2, event_id: 'evt-7' };
    expect(failures(await handler(kinesisEvent(records(rtCounter, [first]))))).toEqual([]);
    h().takeOutput();
    // Same body again: a client retry, silently skipped. Different body: a conflict.
    expect(failures(await handler(kinesisEvent(records(rtCounter, [first, second], 2))))).toEqual([]);
    expect(await find('rt_counter#counter#u-1', 'count')).toMatchObject({ count: 1 });
    expect(emf()).toMatchObject({ DuplicateEvents: 1, IdempotencyConflicts: 1 });
    const alerts = alertDetails(h().sink).filter((a) => a.alert_type === 'IdempotencyConflict');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      entity_type: 'idempotency_key',
      entity_id: 'evt-7',
      details: { reason: 'idempotency_conflict', sequence_number: sequenceNumber(3), claimed_by: { sequence_number: sequenceNumber(1) } },
    });
    // Kept, with its payload, where someone can look at it.
    expect((await malformed('rt_counter')).map((i) => i.reason)).toEqual(['idempotency_conflict']);
  });

  it('detects a conflict inside one batch too', async () => {
    const res = await handler(
      kinesisEvent(records(rtCounter, [{ ...good('u-1'), event_id: 'evt-8' }, { ...good('u-9'), event_id: 'evt-8' }])),
    );
    expect(failures(res)).toEqual([]);
    expect(await find('rt_counter#counter#u-9', 'count')).toBeUndefined();
    expect(alertDetails(h().sink).map((a) => a.alert_type)).toEqual(['IdempotencyConflict']);
  });
});

describe('event time bounds', () => {
  const dated = (timestamp: string) => ({ key: 'k-1', timestamp });

  it('an event dated 9999-12-31 or before 1970 is malformed (timestamp_out_of_range) and changes no count nor the newest event time', async () => {
    expect(failures(await handler(kinesisEvent(records(rtCounter, [dated('2026-11-22T10:00:00Z'), dated('9999-12-31T00:00:00Z'), dated('1969-07-20T20:17:00Z')]))))).toEqual([]);
    expect(failures(await handler(kinesisEvent(records(rtCounter, [dated('2026-11-23T09:00:00Z')], 4))))).toEqual([]);
    const counter = await find('rt_counter#counter#k-1', 'count');
    expect(counter).toMatchObject({ count: 2, as_of: '2026-11-23T09:00:00.000Z' });
    expect((await malformed('rt_counter')).map((i) => i.reason)).toEqual(['timestamp_out_of_range', 'timestamp_out_of_range']);
  });

  it('an event beyond the tolerance after its arrival is malformed; within it, it is applied (EVENT_TIME_TOLERANCE_SECONDS)', async () => {
    process.env.EVENT_TIME_TOLERANCE_SECONDS = '3600';
    try {
      const arrival = records(rtCounter, [dated('2026-01-01T00:00:00Z')])[0]!.kinesis.approximateArrivalTimestamp * 1000;
      const res = await handler(kinesisEvent(records(rtCounter, [dated(new Date(arrival + 3_000_000).toISOString()), dated(new Date(arrival + 3_700_000).toISOString())])));
      expect(failures(res)).toEqual([]);
      expect((await malformed('rt_counter')).map((i) => [i.reason, i.sequence_number])).toEqual([['timestamp_out_of_range', sequenceNumber(2)]]);
    } finally {
      delete process.env.EVENT_TIME_TOLERANCE_SECONDS;
    }
  });
});
