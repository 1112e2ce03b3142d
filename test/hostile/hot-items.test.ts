/**
 * Shared items that very many records touch (issue 8, "What was seen" 1):
 * one subject every student's sessions touch, through the real local pipeline,
 * with as many distinct partition keys as it takes to pass DynamoDB's 400 KB
 * item limit at about 117 bytes per per-lane fence (4,500 here; the hot-key
 * soak, `npm run soak -- --profile hot-keys`, does 20,000 with faults and a
 * restart); and one order with thousands of distinct payments, an item that
 * grows with the events themselves.
 *
 * Seen failing on today's main (ff82b62), before runtime's fixes, failed (run with 6,000 students; 4,500 since, still ~526 KB of per-lane fences): 6,000 students on one subject (the subject item passed 400 KB; the mapping had not
 *   got past the records after 150 s of bisecting and retrying, records in the failure destination); 4,000 payments on
 *   one order (two batches in the failure destination).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DYNAMODB_ITEM_LIMIT_BYTES, itemSize, largestItem } from '../../tools/soak/item-size.js';
import { acceptBatch, envelope, failedRecords, getItem, malformedSink, putDirect, rawItems, settled, startHostile, sinkId, type Hostile, type Written } from './pipeline.js';

// Per-lane fences came to about 117 bytes each (3,902 of them made a 456 KB subject): 4,500 keys pass 400 KB.
const STUDENTS = 4_500;
const VIA_API = 500;
const TUTORS = 100;
const PAYMENTS = 4_000;

let hostile: Hostile;
const local = () => hostile.local;

beforeAll(async () => {
  hostile = await startHostile('hot', { only: ['tutoring', 'payments'] });
}, 120_000);

afterAll(async () => {
  await hostile?.stop();
});

describe('a popular shared item', () => {
  it(`${STUDENTS.toLocaleString('en-US')} students' sessions on one subject are each applied once and no item passes the item limit`, async () => {
    const at = new Date().toISOString();
    const body = (n: number) => ({
      event_type: 'session_started',
      timestamp: at,
      payload: { session_id: `s-hot-${n}`, student_id: `stu-hot-${n}`, tutor_id: `tut-hot-${n % TUTORS}`, subject: 'popular' },
    });
    const written: Array<{ shardId: string; sequenceNumber: string }> = [];
    // The API's share (the partition key is the student id), then the rest straight onto the stream.
    for (let n = 0; n < VIA_API; n += 100) written.push(...(await acceptBatch(local(), 'tutoring', Array.from({ length: 100 }, (_, i) => body(n + i)))));
    const direct = Array.from({ length: STUDENTS - VIA_API }, (_, i) => ({ partitionKey: `stu-hot-${VIA_API + i}`, data: envelope('tutoring', body(VIA_API + i)) }));
    written.push(...(await putDirect(local(), 'tutoring', direct)));
    await settled(local(), 'tutoring', written, 240_000);

    const failed = failedRecords(local(), 'tutoring');
    expect(failed, 'nothing in the failure destination').toEqual([]);
    const subject = await getItem(local(), 'tutoring#subject#popular', 'aggregate');
    expect(subject?.sessions_7d, 'every session counted on the subject').toBe(STUDENTS);
    const items = await rawItems(local());
    const students = items.filter((i) => i.pk?.S?.startsWith('tutoring#student#stu-hot-'));
    expect(students).toHaveLength(STUDENTS);
    expect(students.filter((s) => s.sessions_7d?.N !== '1')).toEqual([]);
    const tutors = items.filter((i) => i.pk?.S?.startsWith('tutoring#tutor#tut-hot-'));
    expect(tutors.reduce((n, t) => n + Number(t.sessions_7d?.N ?? 0), 0)).toBe(STUDENTS);
    const largest = largestItem(items)!;
    const subjectBytes = itemSize(items.find((i) => i.pk?.S === 'tutoring#subject#popular')!);
    console.log(`hot subject: ${STUDENTS} partition keys, subject item ${subjectBytes} bytes; largest item ${largest.pk} ${largest.sk} ${largest.bytes} bytes (limit ${DYNAMODB_ITEM_LIMIT_BYTES})`);
    expect(largest.bytes).toBeLessThan(DYNAMODB_ITEM_LIMIT_BYTES);
  }, 330_000);
});

describe('an item that grows with its events', () => {
  it(`${PAYMENTS.toLocaleString('en-US')} distinct payments on one order: each is applied or kept in the malformed sink with a reason, none lost, neighbours unharmed`, async () => {
    const order = 'o-many-payments';
    const records = Array.from({ length: PAYMENTS }, (_, n) => ({
      partitionKey: order,
      data: envelope('payments', { payment_id: `p-many-${String(n).padStart(5, '0')}`, order_id: order, amount: 1, currency: 'EUR', status: 'captured', method: 'card' }),
    }));
    // A neighbour on another order between them, in the same batches.
    const neighbours = Array.from({ length: 20 }, (_, n) => ({
      partitionKey: `o-next-${n}`,
      data: envelope('payments', { payment_id: `p-next-${n}`, order_id: `o-next-${n}`, amount: 3, currency: 'EUR', status: 'captured', method: 'card' }),
    }));
    const mixed = records.flatMap((r, n) => (n % 200 === 0 ? [neighbours[n / 200]!, r] : [r]));
    const written: Written[] = await putDirect(local(), 'payments', mixed);
    await settled(local(), 'payments', written, 240_000);

    expect(failedRecords(local(), 'payments'), 'nothing in the failure destination').toEqual([]);
    for (let n = 0; n < neighbours.length; n++) expect((await getItem(local(), `payments#order#o-next-${n}`, 'payments'))?.captured_total, `neighbour ${n}`).toBe(3);
    const item = await getItem(local(), `payments#order#${order}`, 'payments');
    const applied = Object.keys(item?.payments ?? {}).length;
    const manyWritten = written.filter((w) => w.partitionKey === order);
    let sunk = 0;
    const reasons = new Set<string>();
    const sink = await malformedSink(local(), 'payments');
    for (const w of manyWritten) {
      const m = sink.get(sinkId(w));
      if (m) {
        sunk++;
        reasons.add(String(m.reason));
      }
    }
    const counted = Number(item?.captured_total ?? 0);
    console.log(`many payments: ${counted} counted in captured_total (${applied} tracked one by one), ${sunk} in the malformed sink (${[...reasons].join(', ') || 'no reason'})`);
    // Each payment is 1 EUR: the total is the number applied, whether or not the item tracks that payment by id.
    expect(counted + sunk, 'every payment applied or in the malformed sink').toBe(PAYMENTS);
    if (sunk > 0) expect([...reasons].every((r) => r.length > 0)).toBe(true);
    const items = await rawItems(local());
    expect(largestItem(items)!.bytes).toBeLessThan(DYNAMODB_ITEM_LIMIT_BYTES);
  }, 330_000);
});
