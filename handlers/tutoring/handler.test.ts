import { describe, expect, it } from 'vitest';
import { alertDetails, useHarness } from '../../test/support/harness.js';
import { kinesisEvent, records } from '../../test/support/kinesis.js';
import { tutoring } from './family.js';
import { handler, route } from './handler.js';
import { itemSize } from '../runtime/item-size.js';

const h = useHarness();

const T = Date.parse('2025-03-10T12:00:00Z'); // far from the processing time on purpose
const at = (offsetMs: number) => new Date(T + offsetMs).toISOString();
const MIN = 60_000;
const DAY = 86_400_000;
const ev = (event_type: string, payload: Record<string, unknown>, timestamp = at(0)) => ({ event_type, timestamp, payload });
const item = async (pk: string, sk = 'aggregate') => (await h().scan()).find((i) => i.pk === pk && i.sk === sk);

describe('tutoring processor', () => {
  it('aggregates sessions per student, tutor and subject, with the average tutor rating', async () => {
    const res = await handler(
      kinesisEvent(
        records(tutoring, [
          ev('session_started', { session_id: 's1', student_id: 'stu-1', tutor_id: 'tut-1', subject: 'math' }),
          ev('session_completed', { session_id: 's1', student_id: 'stu-1', tutor_id: 'tut-1', subject: 'math', duration_minutes: 55, tutor_rating: 5 }),
          ev('session_started', { session_id: 's2', student_id: 'stu-2', tutor_id: 'tut-1' }),
          ev('session_completed', { session_id: 's2', student_id: 'stu-2', tutor_id: 'tut-1', duration_minutes: 30, tutor_rating: 4 }),
          ev('session_completed', { session_id: 's3', student_id: 'stu-2', tutor_id: 'tut-1', tutor_rating: 4 }),
          ev('tutor_availability_updated', { tutor_id: 'tut-1', available_hours: 20, subjects: ['math', 'physics'] }),
        ]),
      ),
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(await item('tutoring#student#stu-1')).toMatchObject({ entity_type: 'student', sessions_7d: 1, completed_sessions_30d: 1, ib_calls_14d: 0 });
    expect(await item('tutoring#tutor#tut-1')).toMatchObject({
      entity_type: 'tutor',
      sessions_7d: 2,
      completed_sessions_7d: 3,
      session_minutes_30d: 85,
      rating_count: 3,
      avg_rating: 4.33,
      available_hours: 20,
      subjects: ['math', 'physics'],
    });
    expect(await item('tutoring#subject#math')).toMatchObject({ entity_type: 'subject', sessions_14d: 1, completed_sessions_14d: 1 });
    expect(h().sink.entries).toEqual([]);
  });

  it('raises high_ib_call_frequency once, when a student reaches 3 IB calls in 14 days', async () => {
    const call = (n: number, offset: number) => ev('ib_call_logged', { student_id: 'stu-3', call_id: `call-${n}`, reason: 'billing' }, at(offset));
    // The first call is 15 days old by the third: only calls 2-4 are within 14 days.
    await handler(kinesisEvent(records(tutoring, [call(1, -15 * DAY), call(2, -3 * DAY), call(3, -DAY), call(4, 0), call(5, MIN)])));
    expect(await item('tutoring#student#stu-3')).toMatchObject({ ib_calls_7d: 4, ib_calls_14d: 4, ib_calls_30d: 5 });
    const alerts = alertDetails(h().sink);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      alert_type: 'high_ib_call_frequency',
      severity: 'warning',
      entity_type: 'student',
      entity_id: 'stu-3',
      details: { ib_calls: 3, window_days: 14, threshold: 3, last_call_id: 'call-4' },
      timestamp: at(0),
    });
    expect(h().sink.entries[0]!.Source).toBe('event-flow.tutoring');
    expect(h().sink.entries[0]!.DetailType).toBe('high_ib_call_frequency');
  });

  it('raises low_health_score as warning below 70 and critical below 50, once per level change', async () => {
    const health = (score: number, offset: number) => ev('customer_health_update', { student_id: 'stu-4', health_score: score, sessions_last_7_days: 1, ib_calls_last_14_days: 2 }, at(offset));
    await handler(kinesisEvent(records(tutoring, [health(80, 0), health(65, MIN), health(60, 2 * MIN), health(45, 3 * MIN), health(40, 4 * MIN), health(90, 5 * MIN), health(69, 6 * MIN)])));
    const alerts = alertDetails(h().sink);
    expect(alerts.map((a) => [a.severity, a.details.health_score])).toEqual([
      ['warning', 65],
      ['critical', 45],
      ['warning', 69],
    ]);
    expect(alerts[0]).toMatchObject({ alert_type: 'low_health_score', entity_type: 'student', entity_id: 'stu-4', details: { threshold: 70, sessions_last_7_days: 1 } });
    expect(await item('tutoring#student#stu-4')).toMatchObject({ health_score: 69, health_level: 'warning', reported: { ib_calls_last_14_days: 2 } });
  });

  it('raises supply_demand_imbalance (info) when a subject/region turns high_demand', async () => {
    const sd = (status: string, offset: number) =>
      ev('supply_demand_update', { subject: 'math', region: 'eu-west', available_tutors: 3, active_students: 40, demand_score: 90, supply_score: 20, balance_status: status }, at(offset));
    await handler(kinesisEvent(records(tutoring, [sd('balanced', 0), sd('high_demand', MIN), sd('high_demand', 2 * MIN)])));
    expect(await item('tutoring#subject#math', 'region#eu-west')).toMatchObject({ entity_type: 'subject_region', balance_status: 'high_demand', demand_score: 90 });
    const alerts = alertDetails(h().sink);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      alert_type: 'supply_demand_imbalance',
      severity: 'info',
      entity_type: 'subject_region',
      entity_id: 'math/eu-west',
      details: { subject: 'math', region: 'eu-west', balance_status: 'high_demand' },
    });
    expect(typeof alerts[0].message).toBe('string');
  });

  it('rolling windows at the edges: 7 d + 1 min old is out of 7 d and in 14 d, from the event timestamps', async () => {
    const started = (id: string, offset: number) => ev('session_started', { session_id: id, student_id: 'stu-5', tutor_id: 'tut-5' }, at(offset));
    // T's day and the 6 days before it form the 7-day window (UTC calendar days).
    const sixDaysAgoMidnight = Date.parse('2025-03-04T00:00:00Z') - T;
    await handler(
      kinesisEvent(
        records(tutoring, [
          started('old', -(7 * DAY + MIN)),
          started('edge-in', sixDaysAgoMidnight),
          started('now', 0),
          started('month', -(29 * DAY)),
          started('too-old', -(31 * DAY)),
        ]),
      ),
    );
    const student = await item('tutoring#student#stu-5');
    expect(student).toMatchObject({ as_of: at(0), sessions_7d: 2, sessions_14d: 3, sessions_30d: 4 });
    // The 31-day-old event fell out of every window; its bucket is pruned.
    expect(Object.keys(student!.days as object).sort()).toEqual(['2025-02-09', '2025-03-03', '2025-03-04', '2025-03-10']);

    // A later event moves the reference: the 7 d + 1 min event is now 8 days old, still in 14 d,
    // and the 29-day-old one is now 30 days old, out of the 30-day window.
    await handler(kinesisEvent(records(tutoring, [started('next', DAY)], 10)));
    expect(await item('tutoring#student#stu-5')).toMatchObject({ as_of: at(DAY), sessions_7d: 2, sessions_14d: 4, sessions_30d: 4 });
  });

  it('coalesces: 100 events over 10 students and 5 tutors cost at most 30 DynamoDB requests', async () => {
    const events = Array.from({ length: 100 }, (_, i) => {
      const student_id = `stu-${i % 10}`;
      const tutor_id = `tut-${i % 5}`;
      const subject = ['math', 'physics', 'chemistry'][i % 3];
      const timestamp = at(i * MIN);
      switch (i % 4) {
        case 0:
          return ev('session_started', { session_id: `s-${i}`, student_id, tutor_id, subject }, timestamp);
        case 1:
          return ev('session_completed', { session_id: `s-${i}`, student_id, tutor_id, subject, duration_minutes: 45, tutor_rating: 4 }, timestamp);
        case 2:
          return ev('ib_call_logged', { student_id, call_id: `c-${i}` }, timestamp);
        default:
          return ev('customer_health_update', { student_id, health_score: 75 }, timestamp);
      }
    });
    // The naive way: read then write every entity an event touches.
    const naive = events.reduce((n, e, i) => n + 2 * route(e as never, { family: 'tutoring', sequenceNumber: String(i), shardId: 's', partitionKey: 'p', eventTime: T, arrivalTime: T }).length, 0);
    h().proxy.reset();
    const res = await handler(kinesisEvent(records(tutoring, events)));
    expect(res.batchItemFailures).toEqual([]);
    const coalesced = h().proxy.total();
    console.info(`tutoring, 100 events / 10 students / 5 tutors: ${coalesced} DynamoDB requests (${JSON.stringify(h().proxy.counts)}); naive read+write per entity per event: ${naive}`);
    expect(coalesced).toBeLessThanOrEqual(30);
    // 50 session events × 3 entities + 50 student-only events, each read and written.
    expect(naive).toBe(2 * (50 * 3 + 50));
    // The counts are right, not just cheap: every student saw 5 sessions and 2 or 3 IB calls.
    const students = (await h().scan()).filter((i) => String(i.pk).startsWith('tutoring#student#'));
    expect(students).toHaveLength(10);
    expect(students.reduce((n, s) => n + Number(s.sessions_7d) + Number(s.completed_sessions_7d), 0)).toBe(50);
    expect(students.reduce((n, s) => n + Number(s.ib_calls_14d), 0)).toBe(25);
  });
});

describe('tutoring with hostile data', () => {
  it('entities named after Object.prototype members are counted like any other', async () => {
    const names = ['constructor', 'toString', 'hasOwnProperty', 'valueOf'];
    const bodies = names.flatMap((name, i) => [
      ev('session_started', { session_id: `s-${i}`, student_id: name, tutor_id: name, subject: name.toLowerCase() }, at(i * MIN)),
      ev('ib_call_logged', { student_id: name, call_id: name }, at(i * MIN + 1)),
      ev('supply_demand_update', { subject: name.toLowerCase(), region: name.toLowerCase(), available_tutors: 1, active_students: 9, demand_score: 90, supply_score: 10, balance_status: 'high_demand' }, at(i * MIN + 2)),
    ]);
    const batch = kinesisEvent(records(tutoring, bodies));
    expect((await handler(batch)).batchItemFailures).toEqual([]);
    await handler(batch);
    for (const name of names) {
      expect(await item(`tutoring#student#${name}`)).toMatchObject({ sessions_7d: 1, ib_calls_7d: 1 });
      expect(await item(`tutoring#tutor#${name}`)).toMatchObject({ sessions_7d: 1 });
      expect(await item(`tutoring#subject#${name.toLowerCase()}`)).toMatchObject({ sessions_7d: 1 });
      expect(await item(`tutoring#subject#${name.toLowerCase()}`, `region#${name.toLowerCase()}`)).toMatchObject({ balance_status: 'high_demand' });
    }
    expect(alertDetails(h().sink).map((a) => a.alert_type)).toEqual(names.map(() => 'supply_demand_imbalance'));
  });
});

describe('tutoring items under many students and late events', () => {
  const failures = (res: { batchItemFailures: { itemIdentifier: string }[] }) => res.batchItemFailures.map((f) => f.itemIdentifier);
  const find = async (pk: string, sk: string) => (await h().scan()).find((i) => i.pk === pk && i.sk === sk);
  const session = (student_id: string, minute: number, subject = 'math') => ({
    event_type: 'session_started',
    timestamp: new Date(Date.parse('2026-11-23T08:00:00Z') + minute * 60_000).toISOString(),
    payload: { session_id: `s-${student_id}-${minute}`, student_id, tutor_id: `t-${minute % 7}`, subject },
  });
  const ib = (timestamp: string) => ({ event_type: 'ib_call_logged', timestamp, payload: { student_id: 'stu-1', call_id: `c-${timestamp}` } });

  it('a subject shared by 1,200 distinct students keeps one fence per shard, whatever the number of partition keys', async () => {
    const students = Array.from({ length: 1_200 }, (_, i) => `stu-${i}`);
    for (let start = 0; start < students.length; start += 400) {
      const batch = records(tutoring, students.slice(start, start + 400).map((s, i) => session(s, start + i)), start + 1);
      expect(failures(await handler(kinesisEvent(batch)))).toEqual([]);
    }
    const subject = await find('tutoring#subject#math', 'aggregate');
    expect(subject).toMatchObject({ sessions_7d: 1_200 });
    expect(Object.keys(subject!.hw as object)).toEqual(['shardId-000000000000']);
    // Far below the bound the README states for a subject item (fences per shard, 30 day buckets, counters).
    expect(itemSize(subject!)).toBeLessThan(4_096);
    // Redelivering the middle batch changes nothing.
    await handler(kinesisEvent(records(tutoring, students.slice(400, 800).map((s, i) => session(s, 400 + i)), 401)));
    expect(await find('tutoring#subject#math', 'aggregate')).toMatchObject({ sessions_7d: 1_200 });
  }, 300_000);

  it('a late event older than every window changes no window', async () => {
    await handler(kinesisEvent(records(tutoring, [ib('2026-11-22T10:00:00Z')])));
    const before = await find('tutoring#student#stu-1', 'aggregate');
    await handler(kinesisEvent(records(tutoring, [ib('2026-09-01T10:00:00Z')], 2)));
    const after = await find('tutoring#student#stu-1', 'aggregate');
    const windows = (i: Record<string, unknown>) => Object.fromEntries(Object.entries(i).filter(([k]) => /_\d+d$/.test(k) || k === 'days' || k === 'as_of'));
    expect(windows(after!)).toEqual(windows(before!));
    expect(after).toMatchObject({ late_events: 1 });
  });
});
