/**
 * An independent recomputation, from the sender's log of accepted events, of
 * what the table and the alert bus must hold. It re-derives each family's
 * rules from their specification (ARCHITECTURE.md 5, README's families, the processors'
 * documented semantics) over the events in stream order, without importing
 * processor code, so a bug in an effect shows up as a difference.
 *
 * Ordering: events of one partition key are in sequence order on one shard,
 * so order-dependent rules (order transitions, latest health report, balance
 * changes) are replayed per item in (shard, sequence) order. Items fed from
 * several shards (tutors, subjects) only get commutative checks (counts, sums).
 */
import type { Body } from '../generators/families.js';

export interface AcceptedEvent {
  family: string;
  key: string;
  shardId: string;
  /** Zero-padded, so string order is sequence order. */
  seq: string;
  body: Body;
  /** Event time (ms): the body's timestamp. */
  time: number;
}

export interface ExpectedItem {
  pk: string;
  sk: string;
  /** Attribute → expected value (numbers compared with a cent of tolerance; see `present` and `subset`). */
  fields: Record<string, unknown>;
  /**
   * The events (`eventId()`) whose effects this item must show: if it does not
   * match, none of them counts as processed, whatever their claims say.
   */
  events: string[];
}

/** The reconciliation's name for one accepted event. */
export const eventId = (e: { family: string; key: string }) => `${e.family}/${e.key}`;
const ids = (list: readonly AcceptedEvent[]) => list.map(eventId);

/** An expected value that only has to be there (a time the processor wrote, say). */
export const PRESENT = Symbol('present');
/** An expected object whose listed keys must match; other keys of the actual object are not checked. */
export class Subset {
  constructor(readonly fields: Record<string, unknown>) {}
}

export interface ExpectedAlert {
  family: string;
  alertType: string;
  entityId: string;
}

export interface Expectation {
  items: ExpectedItem[];
  alerts: ExpectedAlert[];
}

const IB_THRESHOLD = 3;
const HEALTH_WARNING = 70;
const HEALTH_CRITICAL = 50;
const AMOUNT_TOLERANCE = 0.005;
/** The payments processor's default PAYMENTS_MAX_PER_ORDER: payments beyond it count only in the totals. */
const PAYMENTS_TRACKED_PER_ORDER = 50;

const byStreamOrder = (a: AcceptedEvent, b: AcceptedEvent) => (a.shardId === b.shardId ? (a.seq < b.seq ? -1 : 1) : a.shardId < b.shardId ? -1 : 1);
const dayOf = (ms: number) => new Date(Math.floor(ms / 86_400_000) * 86_400_000).toISOString().slice(0, 10);

function groupBy<T>(list: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of list) (out.get(key(t)) ?? out.set(key(t), []).get(key(t))!).push(t);
  return out;
}

function userActivity(events: AcceptedEvent[], out: Expectation) {
  for (const [user, list] of groupBy(events, (e) => String(e.body.user_id))) {
    const actions: Record<string, number> = {};
    for (const e of list) actions[String(e.body.action)] = (actions[String(e.body.action)] ?? 0) + 1;
    out.items.push({ pk: `user_activity#user#${user}`, sk: 'profile', fields: { total: list.length, actions }, events: ids(list) });
    for (const [day, perDay] of groupBy(list, (e) => dayOf(e.time))) {
      out.items.push({ pk: `user_activity#user#${user}`, sk: `day#${day}`, fields: { total: perDay.length }, events: ids(perDay) });
    }
  }
}

function orders(events: AcceptedEvent[], out: Expectation) {
  for (const [order, list] of groupBy(events, (e) => String(e.body.order_id))) {
    const done = new Set<string>();
    let rejected = 0;
    let repeated = 0;
    for (const e of list.sort(byStreamOrder)) {
      const type = String(e.body.type);
      if (done.has(type)) {
        repeated++;
        continue;
      }
      const invalid =
        (type === 'paid' && done.has('cancelled') && !done.has('shipped')) ||
        (type === 'shipped' && done.has('cancelled')) ||
        (type === 'cancelled' && done.has('shipped'));
      if (invalid) {
        rejected++;
        out.alerts.push({ family: 'orders', alertType: 'InvalidOrderTransition', entityId: order });
        continue;
      }
      done.add(type);
    }
    const status = done.has('shipped') ? 'shipped' : done.has('cancelled') ? 'cancelled' : done.has('paid') ? 'paid' : done.has('created') ? 'created' : 'unknown';
    // Each milestone applied leaves its time on the order: evidence per event, beyond the status.
    const milestones = Object.fromEntries([...done].map((type) => [`${type}_at`, PRESENT]));
    out.items.push({ pk: `orders#order#${order}`, sk: 'order', fields: { status, rejected_events: rejected || undefined, repeated_events: repeated || undefined, ...milestones }, events: ids(list) });
  }
}

function payments(events: AcceptedEvent[], out: Expectation) {
  for (const [order, list] of groupBy(events, (e) => String(e.body.order_id))) {
    const seen = new Set<string>();
    let captured = 0;
    let refunded = 0;
    let failed = 0;
    let orderAmount: number | undefined;
    // Per-event evidence: each status a tracked payment reached leaves its time on that payment.
    const tracked = new Map<string, Record<string, unknown>>();
    for (const e of list.sort(byStreamOrder)) {
      const b = e.body as { payment_id: string; status: string; amount: number; order_amount?: number };
      if (b.order_amount !== undefined) orderAmount = b.order_amount;
      const id = `${b.payment_id}/${b.status}`;
      if (seen.has(id)) continue;
      seen.add(id);
      if (tracked.has(b.payment_id) || tracked.size < PAYMENTS_TRACKED_PER_ORDER) (tracked.get(b.payment_id) ?? tracked.set(b.payment_id, {}).get(b.payment_id)!)[b.status] = PRESENT;
      if (b.status === 'failed') {
        failed++;
        out.alerts.push({ family: 'payments', alertType: 'PaymentFailed', entityId: order });
      } else if (b.status === 'captured') {
        captured = Math.round((captured + b.amount) * 100) / 100;
        if (orderAmount !== undefined && Math.abs(captured - orderAmount) > AMOUNT_TOLERANCE) {
          out.alerts.push({ family: 'payments', alertType: 'CapturedAmountMismatch', entityId: order });
        }
      } else if (b.status === 'refunded') refunded = Math.round((refunded + b.amount) * 100) / 100;
    }
    out.items.push({ pk: `payments#order#${order}`, sk: 'payments', fields: {
        captured_total: captured,
        refunded_total: refunded,
        failed_count: failed,
        payments: new Subset(Object.fromEntries([...tracked].map(([id, statuses]) => [id, new Subset({ events: new Subset(statuses) })]))),
      },
      events: ids(list),
    });
  }
}

function level(score: number): 'ok' | 'warning' | 'critical' {
  return score < HEALTH_CRITICAL ? 'critical' : score < HEALTH_WARNING ? 'warning' : 'ok';
}

function tutoring(events: AcceptedEvent[], out: Expectation) {
  type P = Record<string, unknown>;
  const counters = new Map<string, Record<string, number>>();
  const touched = new Map<string, Set<string>>();
  let current: AcceptedEvent;
  const bump = (pk: string, field: string, by = 1) => {
    const c = counters.get(pk) ?? counters.set(pk, {}).get(pk)!;
    c[field] = (c[field] ?? 0) + by;
    (touched.get(pk) ?? touched.set(pk, new Set()).get(pk)!).add(eventId(current));
  };
  const students = new Map<string, AcceptedEvent[]>();
  const supply = new Map<string, AcceptedEvent[]>();
  for (const e of events) {
    current = e;
    const p = e.body.payload as P;
    const type = String(e.body.event_type);
    if (type === 'session_started' || type === 'session_completed') {
      const field = type === 'session_started' ? 'sessions_30d' : 'completed_sessions_30d';
      bump(`tutoring#student#${p.student_id}`, field);
      bump(`tutoring#tutor#${p.tutor_id}`, field);
      if (type === 'session_completed') {
        bump(`tutoring#tutor#${p.tutor_id}`, 'session_minutes_30d', Number(p.duration_minutes ?? 0));
        if (p.tutor_rating !== undefined) {
          bump(`tutoring#tutor#${p.tutor_id}`, 'rating_count');
          bump(`tutoring#tutor#${p.tutor_id}`, 'rating_sum', Number(p.tutor_rating));
        }
      }
      if (p.subject) bump(`tutoring#subject#${p.subject}`, field);
    }
    if (type === 'ib_call_logged') bump(`tutoring#student#${p.student_id}`, 'ib_calls_14d');
    // Reports touch the aggregate too (its windows and as_of), so the item exists even without counts.
    if (type === 'customer_health_update') bump(`tutoring#student#${p.student_id}`, 'ib_calls_14d', 0);
    if (type === 'tutor_availability_updated') bump(`tutoring#tutor#${p.tutor_id}`, 'sessions_30d', 0);
    if (type === 'ib_call_logged' || type === 'customer_health_update') {
      const id = String(p.student_id);
      (students.get(id) ?? students.set(id, []).get(id)!).push(e);
    }
    if (type === 'supply_demand_update') {
      const id = `${p.subject}/${p.region}`;
      (supply.get(id) ?? supply.set(id, []).get(id)!).push(e);
    }
  }
  const COUNTERS: Record<string, string[]> = {
    student: ['sessions_30d', 'completed_sessions_30d', 'ib_calls_14d'],
    tutor: ['sessions_30d', 'completed_sessions_30d', 'session_minutes_30d', 'rating_count', 'rating_sum'],
    subject: ['sessions_30d', 'completed_sessions_30d'],
  };
  for (const [pk, fields] of counters) {
    // Every counter of the entity is checked, zeros included: an extra count is as wrong as a missing one.
    const all: Record<string, number> = {};
    for (const name of COUNTERS[pk.split('#')[1]!] ?? []) all[name] = fields[name] ?? 0;
    out.items.push({ pk, sk: 'aggregate', fields: all, events: [...(touched.get(pk) ?? [])] });
  }

  for (const [student, list] of students) {
    let calls = 0;
    let latest: { time: number; score: number; level: 'ok' | 'warning' | 'critical' } | undefined;
    for (const e of list.sort(byStreamOrder)) {
      const p = e.body.payload as P;
      if (e.body.event_type === 'ib_call_logged') {
        calls++;
        // All soak events fall within one 14-day window, so the threshold is crossed exactly once.
        if (calls === IB_THRESHOLD) out.alerts.push({ family: 'tutoring', alertType: 'high_ib_call_frequency', entityId: student });
        continue;
      }
      // The newest report wins; one older than the current report is ignored.
      if (latest && e.time < latest.time) continue;
      const previous = latest?.level ?? 'ok';
      const score = Number(p.health_score);
      latest = { time: e.time, score, level: level(score) };
      if (latest.level !== 'ok' && latest.level !== previous) out.alerts.push({ family: 'tutoring', alertType: 'low_health_score', entityId: student });
    }
    if (latest) {
      const item = out.items.find((i) => i.pk === `tutoring#student#${student}` && i.sk === 'aggregate');
      const fields = { health_score: latest.score, health_level: latest.level };
      if (item) Object.assign(item.fields, fields);
      else out.items.push({ pk: `tutoring#student#${student}`, sk: 'aggregate', fields, events: ids(list) });
    }
  }

  for (const [id, list] of supply) {
    let latest: { time: number; status: string } | undefined;
    for (const e of list.sort(byStreamOrder)) {
      const p = e.body.payload as P;
      if (latest && e.time < latest.time) continue;
      const previous = latest?.status;
      latest = { time: e.time, status: String(p.balance_status) };
      if (latest.status === 'high_demand' && previous !== 'high_demand') out.alerts.push({ family: 'tutoring', alertType: 'supply_demand_imbalance', entityId: id });
    }
    const [subject, region] = id.split('/');
    out.items.push({ pk: `tutoring#subject#${subject}`, sk: `region#${region}`, fields: { balance_status: latest!.status }, events: ids(list) });
  }
}

const FAMILY_RULES: Record<string, (events: AcceptedEvent[], out: Expectation) => void> = {
  user_activity: userActivity,
  orders,
  payments,
  tutoring,
};

/** What the table and the bus must show after exactly one application of each event. */
export function expectation(events: readonly AcceptedEvent[]): Expectation {
  const out: Expectation = { items: [], alerts: [] };
  for (const [family, list] of groupBy(events, (e) => e.family)) FAMILY_RULES[family]?.(list, out);
  return out;
}
