/**
 * The shared runtime's guarantees, through real processors of test-only
 * families (test/support/families.ts, so no shipped family's rules are in
 * play), real dynalite and a real PutEvents endpoint. Failures are injected at
 * the HTTP level (a proxy in front of dynalite answering 500, or the
 * EventBridge endpoint rejecting entries): nothing in the processor is mocked.
 */
import { describe, expect, it } from 'vitest';
import { alertDetails, effects, useHarness } from '../../test/support/harness.js';
import { kinesisEvent, rawJson, records, sequenceNumber, envelope } from '../../test/support/kinesis.js';
import { rtCounter, rtCounterProcessor, rtCounterRoute, rtPoison } from '../../test/support/families.js';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { toAttributeMap } from './attributes.js';
import { createProcessor } from './processor.js';
import { effect, ItemKeyError } from './effect.js';

const h = useHarness();

const T = Date.parse('2026-11-20T12:00:00Z');
const at = (minutes: number) => new Date(T + minutes * 60_000).toISOString();
const bump = (key: string, minute: number, more: { amount?: number; group?: string; event_id?: string } = {}) => ({ key, timestamp: at(minute), ...more });
const handler = rtCounterProcessor.handler;
const failures = (res: { batchItemFailures: { itemIdentifier: string }[] }) => res.batchItemFailures.map((f) => f.itemIdentifier);
const ids = (n: number[]) => n.map(sequenceNumber);
const injected500 = { status: 500, type: 'InternalServerError', message: 'injected by the test proxy' };

/**
 * 12 events. Record 7 is the first to touch counter s5 and takes it to 3; s3
 * reaches 3 at record 4, s1 at record 9 and s2 at record 12, so alerts come from
 * records before and after 7. Group g1 is shared by records 2, 6 and 10.
 */
const BODIES = [
  bump('s1', 1),
  bump('s2', 2, { group: 'g1' }),
  bump('s1', 3),
  bump('s3', 4, { amount: 3 }),
  bump('s2', 5),
  bump('s4', 6, { group: 'g1' }),
  bump('s5', 7, { amount: 3 }),
  bump('s3', 8),
  bump('s1', 9),
  bump('s5', 10, { group: 'g1' }),
  bump('s3', 11),
  bump('s2', 12),
];

describe('malformed records', () => {
  it('publishes every kind as MalformedEvent, never reports them failed, and applies the valid ones', async () => {
    const good = { key: 'u-1' };
    const bodies = [
      good,
      { data: '%%% not base64 %%%', partitionKey: 'pk-b64' },
      { data: Buffer.from([0xff, 0xfe, 0x00, 0x41]).toString('base64'), partitionKey: 'pk-utf8' },
      { data: Buffer.from('{"id": "x", oops').toString('base64'), partitionKey: 'pk-json' },
      rawJson({ family: 'rt_counter', data: good }, 'pk-envelope'),
      rawJson(envelope(rtPoison, good), 'pk-family'),
      rawJson(envelope(rtCounter, { key: 'u-1', amount: 'Not A Valid Amount' }), 'pk-schema'),
      good,
    ];
    const event = kinesisEvent(records(rtCounter, bodies));
    const res = await handler(event);
    expect(res.batchItemFailures).toEqual([]);

    const malformed = h().sink.entries.filter((e) => e.DetailType === 'MalformedEvent');
    expect(malformed.map((e) => e.detail.details.reason)).toEqual(['not_base64', 'not_utf8', 'not_json', 'invalid_envelope', 'wrong_family', 'invalid_event']);
    expect(malformed.map((e) => e.detail.details.partition_key)).toEqual(['pk-b64', 'pk-utf8', 'pk-json', 'pk-envelope', 'pk-family', 'pk-schema']);
    expect(malformed.map((e) => e.detail.details.sequence_number)).toEqual(ids([2, 3, 4, 5, 6, 7]));
    expect(malformed[0]!.detail.details.raw_data).toBe('%%% not base64 %%%');
    expect(Buffer.from(malformed[6 - 1]!.detail.details.raw_data, 'base64').toString()).toContain('Not A Valid Amount');
    expect(malformed[5]!.detail.details.issues).toContain('amount');
    expect(malformed.every((e) => e.Source === 'event-flow.rt_counter' && e.detail.severity === 'warning')).toBe(true);

    const counter = (await h().scan()).find((i) => i.pk === 'rt_counter#counter#u-1' && i.sk === 'count');
    expect(counter).toMatchObject({ count: 2 });
    // Kept in the table too, one item per record (the IAM prefix rule holds: pk starts with the family).
    expect((await h().scan()).filter((i) => i.pk === 'rt_counter#malformed')).toHaveLength(6);

    const emf = h().takeOutput().filter((o) => o._aws);
    const values = Object.assign({}, ...emf.map((o) => ({ MalformedEvents: o.MalformedEvents, ProcessedEvents: o.ProcessedEvents, FailedEvents: o.FailedEvents, AlertsPublished: o.AlertsPublished, family: o.family, ns: o._aws.CloudWatchMetrics[0].Namespace })));
    expect(values).toEqual({ MalformedEvents: 6, ProcessedEvents: 2, FailedEvents: 0, AlertsPublished: 6, family: 'rt_counter', ns: 'event-flow-test' });

    // Redelivered: nothing new reaches the bus.
    h().sink.clear();
    expect((await handler(event)).batchItemFailures).toEqual([]);
    expect(h().sink.entries).toEqual([]);
  });
});

describe('exactly-once in effect', () => {
  it('a batch delivered twice leaves the table byte-identical and sends no alert twice', async () => {
    const event = kinesisEvent(records(rtCounter, BODIES));
    expect(failures(await handler(event))).toEqual([]);
    const once = await h().scan();
    const alerts = alertDetails(h().sink).map((a) => a.alert_id);
    expect(alerts).toHaveLength(4); // s3, s5, s1 and s2 each reaching 3

    h().proxy.reset();
    expect(failures(await handler(event))).toEqual([]);
    expect(await h().scan()).toEqual(once);
    expect(h().proxy.counts.PutItem ?? 0).toBe(0);
    expect(alertDetails(h().sink).map((a) => a.alert_id)).toEqual(alerts);
  });

  it('a failure at record k of n (DynamoDB 500 from a failing endpoint) fails k..n; redelivery from k equals a clean run', async () => {
    const k = 7;
    const clean = await h().freshTable();
    await handler(kinesisEvent(records(rtCounter, BODIES)));
    const cleanTable = effects(await h().scan(clean));
    const cleanAlerts = alertDetails(h().sink).map((a) => a.alert_id).sort();

    await h().freshTable();
    // Every PutItem of record 7's counter fails, as if DynamoDB returned 500s for that partition.
    h().proxy.setFault((r) => (r.operation === 'PutItem' && r.body?.Item?.pk?.S === 'rt_counter#counter#s5' ? injected500 : undefined));
    const first = await handler(kinesisEvent(records(rtCounter, BODIES)));
    expect(failures(first)).toEqual(ids([7, 8, 9, 10, 11, 12]));
    // Only alerts of records before k went out; the others wait in the items' outboxes.
    expect(alertDetails(h().sink).map((a) => a.source.sequence_number)).toEqual(ids([4]));

    h().proxy.setFault(undefined);
    const retry = await handler(kinesisEvent(records(rtCounter, BODIES.slice(k - 1), k)));
    expect(failures(retry)).toEqual([]);
    expect(effects(await h().scan())).toEqual(cleanTable);
    expect(alertDetails(h().sink).map((a) => a.alert_id).sort()).toEqual(cleanAlerts);
  });

  it('a hung DynamoDB call times out as a dependency failure (records k..n retried), and its late write changes nothing on redelivery', async () => {
    const k = 7;
    const clean = await h().freshTable();
    await handler(kinesisEvent(records(rtCounter, BODIES)));
    const cleanTable = effects(await h().scan(clean));

    await h().freshTable();
    // A fresh processor, so its clients are built with the short timeout set here.
    // Long enough that only the held write times out on a loaded machine.
    process.env.DEPENDENCY_TIMEOUT_MS = '1500';
    const slow = createProcessor(rtCounter, rtCounterRoute);
    try {
      // The proxy holds record 7's write past the timeout, then still forwards it: like DynamoDB, a request
      // the client gave up on may be applied after all.
      h().proxy.setFault((r) => (r.operation === 'PutItem' && r.body?.Item?.pk?.S === 'rt_counter#counter#s5' ? { delayMs: 4_000 } : undefined));
      expect(failures(await slow.handler(kinesisEvent(records(rtCounter, BODIES))))).toEqual(ids([7, 8, 9, 10, 11, 12]));
      await new Promise((resolve) => setTimeout(resolve, 4_200));
      h().proxy.setFault(undefined);
      expect(failures(await slow.handler(kinesisEvent(records(rtCounter, BODIES.slice(k - 1), k))))).toEqual([]);
    } finally {
      delete process.env.DEPENDENCY_TIMEOUT_MS;
      h().proxy.setFault(undefined);
    }
    expect(effects(await h().scan())).toEqual(cleanTable);
  });

  it('client retries with one idempotency key are applied once, in a batch and across batches', async () => {
    const first = kinesisEvent(records(rtCounter, [bump('s1', 1, { event_id: 'evt-1' }), bump('s1', 1, { event_id: 'evt-1' }), bump('s1', 2, { event_id: 'evt-2' })]));
    expect(failures(await handler(first))).toEqual([]);
    // The client retried evt-1 again later (new request, new sequence number), and the first batch was redelivered.
    expect(failures(await handler(kinesisEvent(records(rtCounter, [bump('s1', 1, { event_id: 'evt-1' })], 4))))).toEqual([]);
    expect(failures(await handler(first))).toEqual([]);
    const items = await h().scan();
    expect(items.find((i) => i.pk === 'rt_counter#counter#s1')).toMatchObject({ count: 2 });
    const claim = items.find((i) => i.pk === 'rt_counter#claim#evt-1');
    expect(claim).toMatchObject({ sk: 'claim', seq: sequenceNumber(1).padStart(128, '0'), request_id: 'req-1' });
    expect(Number(claim!.expiresAt)).toBeGreaterThan(Date.now() / 1000 + 6 * 86400);
    const emf = h().takeOutput().filter((o) => o._aws);
    // Third delivery: record 2 is the in-batch retry again; record 1 owns the claim and is fenced instead.
    expect(emf.map((o) => o.DuplicateEvents)).toEqual([1, 1, 1]);
  });

  it('concurrent shards updating one shared item resolve their write conflicts without losing counts', async () => {
    const shardA = records(rtCounter, Array.from({ length: 10 }, (_, i) => bump(`a${i}`, i, { group: 'g9' })), 1, 'shardId-000000000001');
    const shardB = records(rtCounter, Array.from({ length: 10 }, (_, i) => bump(`b${i}`, i, { group: 'g9' })), 1, 'shardId-000000000002');
    const results = await Promise.all([handler(kinesisEvent(shardA)), handler(kinesisEvent(shardB))]);
    expect(results.map(failures)).toEqual([[], []]);
    const group = (await h().scan()).find((i) => i.pk === 'rt_counter#group#g9');
    expect(group).toMatchObject({ count: 20 });
    // One fence per shard, however many partition keys (here 10 keys on each of two shards) wrote the item.
    const fences = group!.hw as Record<string, { seq: string }>;
    expect(Object.keys(fences).sort()).toEqual(['shardId-000000000001', 'shardId-000000000002']);
    expect(fences['shardId-000000000001']!.seq).toBe(sequenceNumber(10));
    expect(fences['shardId-000000000002']!.seq).toBe(sequenceNumber(10));
    // Replaying shard A changes nothing: its fence is per shard.
    await handler(kinesisEvent(shardA));
    expect((await h().scan()).find((i) => i.pk === 'rt_counter#group#g9')).toMatchObject({ count: 20 });
  });

  it('one shard, many partition keys interleaved: redeliveries from any checkpoint count each record once', async () => {
    // ParallelizationFactor 1 (the module refuses more): one batch per shard at a time, in sequence order.
    const all = records(rtCounter, Array.from({ length: 20 }, (_, i) => bump(`k${i % 5}`, i, { group: 'g7' })));
    expect(failures(await handler(kinesisEvent(all.slice(0, 12))))).toEqual([]);
    expect(failures(await handler(kinesisEvent(all.slice(7))))).toEqual([]);
    expect(failures(await handler(kinesisEvent(all.slice(3, 15))))).toEqual([]);
    const group = (await h().scan()).find((i) => i.pk === 'rt_counter#group#g7');
    expect(group).toMatchObject({ count: 20 });
    expect(Object.keys(group!.hw as object)).toEqual(['shardId-000000000000']);
  });

  it('items fenced per lane by an earlier version are read as one fence per shard (the highest)', async () => {
    const batch = records(rtCounter, Array.from({ length: 6 }, (_, i) => bump(`k${i % 3}`, i, { group: 'g8' })));
    expect(failures(await handler(kinesisEvent(batch.slice(0, 4))))).toEqual([]);
    const table = process.env.TABLE_NAME!;
    const group = (await h().scan()).find((i) => i.pk === 'rt_counter#group#g8')!;
    const lanes = { 'shardId-000000000000|k0': { seq: sequenceNumber(4), at: 1 }, 'shardId-000000000000|k1': { seq: sequenceNumber(2), at: 1 } };
    await h().db.client.send(new PutItemCommand({ TableName: table, Item: toAttributeMap({ ...group, hw: lanes }) }));
    expect(failures(await handler(kinesisEvent(batch)))).toEqual([]);
    expect((await h().scan()).find((i) => i.pk === 'rt_counter#group#g8')).toMatchObject({ count: 6, hw: { 'shardId-000000000000': { seq: sequenceNumber(6) } } });
  });
});

describe('exactly-once under random faults', () => {
  it('random DynamoDB and EventBridge faults, random batch sizes and repeated deliveries end exactly like a clean run', async () => {
    // A small deterministic generator: the same faults on every run.
    let seed = Number(process.env.FAULT_SEED ?? 20261123);
    const random = () => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const keys = ['s1', 's2', 's3', 's4'];
    const bodies = Array.from({ length: 60 }, (_, i) => bump(keys[i % 4]!, i, { amount: 1 + ((i >> 2) % 3), ...(i % 3 === 2 ? { group: `g${i % 2}` } : {}) }));
    const all = records(rtCounter, bodies);

    const clean = await h().freshTable();
    expect(failures(await handler(kinesisEvent(all)))).toEqual([]);
    const cleanTable = effects(await h().scan(clean));
    const cleanAlerts = alertDetails(h().sink).map((a) => a.alert_id).sort();
    expect(cleanAlerts.length).toBeGreaterThan(5);

    await h().freshTable();
    // Any DynamoDB request may fail, except the alert-cursor write: losing that one is the documented residual
    // risk (a redelivery would repeat those alerts), so it is kept out of this exactness check.
    let dynamoFaults = 0;
    h().proxy.setFault((r) => {
      const cursorWrite = r.operation === 'BatchWriteItem' && JSON.stringify(r.body).includes('#cursor#');
      if (cursorWrite || random() >= 0.15) return undefined;
      dynamoFaults++;
      return injected500;
    });
    h().sink.setEntryFault(() => (random() < 0.3 ? { ErrorCode: 'InternalFailure', ErrorMessage: 'injected' } : undefined));
    let checkpoint = 0;
    let deliveries = 0;
    while (checkpoint < all.length && deliveries < 200) {
      deliveries++;
      // Like the mapping: from the checkpoint, a batch of some size; sometimes an already-done batch again.
      const from = random() < 0.2 ? Math.floor(random() * (checkpoint + 1)) : checkpoint;
      const batch = all.slice(from, from + 1 + Math.floor(random() * 20));
      const failed = failures(await handler(kinesisEvent(batch)));
      const firstFailed = failed.length ? batch.findIndex((r) => r.kinesis.sequenceNumber === failed[0]) : batch.length;
      // Partial responses always list a suffix of the batch.
      expect(failed).toEqual(batch.slice(firstFailed).map((r) => r.kinesis.sequenceNumber));
      if (from <= checkpoint) checkpoint = Math.max(checkpoint, from + firstFailed);
    }
    expect(checkpoint).toBe(all.length);
    expect(deliveries).toBeGreaterThan(5);
    expect(dynamoFaults).toBeGreaterThan(0);
    expect(h().sink.rejected.length).toBeGreaterThan(0);
    h().proxy.setFault(undefined);
    expect(effects(await h().scan())).toEqual(cleanTable);
    expect(alertDetails(h().sink).map((a) => a.alert_id).sort()).toEqual(cleanAlerts);
  });
});

describe('EventBridge failures', () => {
  it('retries entries EventBridge rejects (FailedEntryCount) and delivers each alert once', async () => {
    const rejectedOnce = new Set<string>();
    h().sink.setEntryFault((entry) => {
      if (rejectedOnce.has(entry.detail.alert_id)) return undefined;
      rejectedOnce.add(entry.detail.alert_id);
      return { ErrorCode: 'ThrottlingException', ErrorMessage: 'injected' };
    });
    expect(failures(await handler(kinesisEvent(records(rtCounter, BODIES))))).toEqual([]);
    expect(h().sink.rejected).toHaveLength(4);
    expect(new Set(alertDetails(h().sink).map((a) => a.alert_id)).size).toBe(4);
    expect(h().sink.entries).toHaveLength(4);
  });

  it('an alert that keeps failing fails its record and the later ones; the redelivery sends it, and nothing twice', async () => {
    // Record 9's alert (s1 reaches 3) is rejected on every attempt.
    h().sink.setEntryFault((entry) => (entry.detail.entity_id === 's1' ? { ErrorCode: 'InternalFailure', ErrorMessage: 'injected' } : undefined));
    const first = await handler(kinesisEvent(records(rtCounter, BODIES)));
    expect(failures(first)).toEqual(ids([9, 10, 11, 12]));
    // s2's alert (record 12) rode in the same PutEvents call and was accepted: it cannot be unsent,
    // so the shard's cursor remembers its id and the redelivery must not send it again.
    expect(alertDetails(h().sink).map((a) => a.entity_id)).toEqual(['s3', 's5', 's2']);

    h().sink.setEntryFault(undefined);
    expect(failures(await handler(kinesisEvent(records(rtCounter, BODIES.slice(8), 9))))).toEqual([]);
    expect(alertDetails(h().sink).map((a) => a.entity_id)).toEqual(['s3', 's5', 's2', 's1']);
    expect(new Set(alertDetails(h().sink).map((a) => a.alert_id)).size).toBe(4);
    // The table still counted every call once.
    expect((await h().scan()).find((i) => i.pk === 'rt_counter#counter#s1')).toMatchObject({ count: 3 });
  });

  it('PutEvents answering 500 fails the records, and the alert is not lost', async () => {
    h().sink.failRequests(100);
    const first = await handler(kinesisEvent(records(rtCounter, [bump('s7', 1, { amount: 3 }), bump('s8', 2)])));
    expect(failures(first)).toEqual(ids([1, 2]));
    expect(h().sink.entries).toEqual([]);
    h().sink.failRequests(0);
    // The table write happened: the redelivery must publish from the outbox, not recompute (the fence skips it).
    expect(failures(await handler(kinesisEvent(records(rtCounter, [bump('s7', 1, { amount: 3 }), bump('s8', 2)]))))).toEqual([]);
    expect(alertDetails(h().sink).map((a) => [a.entity_id, a.severity])).toEqual([['s7', 'warning']]);
  });
});

describe('dependency failures and crashes', () => {
  it('DynamoDB unavailable for the batch read fails every record from the first', async () => {
    h().proxy.setFault((r) => (r.operation === 'BatchGetItem' ? { status: 503, type: 'ServiceUnavailable', message: 'injected' } : undefined));
    expect(failures(await handler(kinesisEvent(records(rtCounter, [{ key: 'u' }, { key: 'v' }]))))).toEqual(ids([1, 2]));
    h().proxy.setFault(undefined);
    expect((await h().scan()).length).toBe(0);
  });

  it('a programming error makes the invocation throw, with nothing written', async () => {
    const broken = createProcessor(rtCounter, (event) => [
      effect<{ counts: { nope: () => void } }>({ entity: 'counter', id: event.key, sort: 'count' }, (s) => s.counts!.nope()),
    ]);
    await expect(broken.handler(kinesisEvent(records(rtCounter, [{ key: 'u' }])))).rejects.toThrow(TypeError);
    expect(await h().scan()).toEqual([]);
  });

  it('keys every item inside the family: an effect cannot name another family\'s item nor the runtime\'s own', async () => {
    const counted = (entity: string, id: string) =>
      createProcessor(rtCounter, () => [effect<{ n: number }>({ entity, id, sort: 'x' }, (s) => void (s.n = (s.n ?? 0) + 1))]);
    // What would be another family's key (rt_poison's `thing`) is only an id within this one.
    expect(failures(await counted('thing', 't-1').handler(kinesisEvent(records(rtCounter, [{ key: 'u' }]))))).toEqual([]);
    expect((await h().scan()).map((i) => i.pk)).toEqual(['rt_counter#thing#t-1']);
    for (const entity of ['claim', 'cursor', 'malformed', 'rt_poison#thing', '', 'Thing']) {
      await expect(counted(entity, 'x').handler(kinesisEvent(records(rtCounter, [{ key: 'u' }], 2))), entity).rejects.toThrow(ItemKeyError);
    }
    expect((await h().scan()).map((i) => i.pk)).toEqual(['rt_counter#thing#t-1']);
  });
});
