import {
  addToBucket,
  createProcessor,
  dict,
  effect,
  iso,
  pruneBuckets,
  windowSum,
  withinHorizon,
  type AlertDraft,
  type DayBuckets,
  type Effect,
  type ItemKey,
  type RecordContext,
} from '../runtime/index.js';
import { HORIZON_DAYS, tutoringConfig, WINDOWS } from './config.js';
import { tutoring, type TutoringEvent } from './family.js';

/** Counters kept in daily buckets per entity type; each gets `<counter>_<n>d` for every window. */
const COUNTERS = {
  student: ['sessions', 'completed_sessions', 'ib_calls'],
  tutor: ['sessions', 'completed_sessions', 'session_minutes'],
  subject: ['sessions', 'completed_sessions'],
} as const;
type EntityType = keyof typeof COUNTERS;

interface Aggregate {
  entity_type: EntityType;
  entity_id: string;
  days: DayBuckets;
  /** Newest event time seen: the reference point of the windows. */
  as_of: string;
  /** Events older than the longest window when they arrived: counted nowhere else. */
  late_events: number;
  last_event_at: string;
  [window: string]: unknown;
}

interface Student extends Aggregate {
  health_score: number;
  health_level: HealthLevel;
  health_updated_at: string;
  reported: { sessions_last_7_days?: number; sessions_last_30_days?: number; ib_calls_last_14_days?: number };
}
interface Tutor extends Aggregate {
  rating_sum: number;
  rating_count: number;
  avg_rating: number;
  available_hours: number;
  subjects: string[];
  availability_updated_at: string;
}
interface SupplyDemand {
  entity_type: 'subject_region';
  subject: string;
  region: string;
  available_tutors: number;
  active_students: number;
  demand_score: number;
  supply_score: number;
  balance_status: 'balanced' | 'high_demand' | 'high_supply';
  updated_at_event: string;
}

type HealthLevel = 'ok' | 'warning' | 'critical';
export function healthLevel(score: number): HealthLevel {
  if (score < tutoringConfig.healthCriticalBelow) return 'critical';
  if (score < tutoringConfig.healthWarningBelow) return 'warning';
  return 'ok';
}

export const items = {
  student: (id: string): ItemKey => ({ entity: 'student', id, sort: 'aggregate' }),
  tutor: (id: string): ItemKey => ({ entity: 'tutor', id, sort: 'aggregate' }),
  subject: (subject: string): ItemKey => ({ entity: 'subject', id: subject, sort: 'aggregate' }),
  supplyDemand: (subject: string, region: string): ItemKey => ({ entity: 'subject', id: subject, sort: `region#${region}` }),
};

/** Adds to an entity's daily buckets and recomputes its windows relative to its newest event. */
function count(s: Partial<Aggregate>, type: EntityType, id: string, eventTime: number, add: Partial<Record<string, number>>): void {
  s.entity_type = type;
  s.entity_id = id;
  s.days ??= dict();
  s.late_events ??= 0;
  const asOf = Math.max(s.as_of ? Date.parse(s.as_of) : eventTime, eventTime);
  if (withinHorizon(eventTime, asOf, HORIZON_DAYS)) {
    for (const [counter, amount] of Object.entries(add)) if (amount) addToBucket(s.days, eventTime, counter, amount);
  } else s.late_events += 1;
  s.as_of = iso(asOf);
  if (!s.last_event_at || iso(eventTime) > s.last_event_at) s.last_event_at = iso(eventTime);
  pruneBuckets(s.days, asOf, HORIZON_DAYS);
  for (const counter of COUNTERS[type]) for (const days of WINDOWS) s[`${counter}_${days}d`] = windowSum(s.days, asOf, counter, days);
}

function alert(draft: Omit<AlertDraft, 'details'> & { details: AlertDraft['details'] }): AlertDraft {
  return draft;
}

export function route(event: TutoringEvent, context: RecordContext): Effect[] {
  const t = context.eventTime;
  switch (event.event_type) {
    case 'session_started':
    case 'session_completed': {
      const p = event.payload;
      const completed = event.event_type === 'session_completed';
      const minutes = completed ? event.payload.duration_minutes ?? 0 : 0;
      const add = completed ? { completed_sessions: 1 } : { sessions: 1 };
      const effects: Effect[] = [
        effect<Student>(items.student(p.student_id), (s) => count(s, 'student', p.student_id, t, add)),
        effect<Tutor>(items.tutor(p.tutor_id), (s) => {
          count(s, 'tutor', p.tutor_id, t, { ...add, session_minutes: minutes });
          const rating = completed ? event.payload.tutor_rating : undefined;
          if (rating !== undefined) {
            s.rating_sum = (s.rating_sum ?? 0) + rating;
            s.rating_count = (s.rating_count ?? 0) + 1;
            s.avg_rating = Math.round((s.rating_sum / s.rating_count) * 100) / 100;
          }
        }),
      ];
      if (p.subject) {
        const subject = p.subject;
        effects.push(effect<Aggregate>(items.subject(subject), (s) => count(s, 'subject', subject, t, add)));
      }
      return effects;
    }
    case 'ib_call_logged': {
      const id = event.payload.student_id;
      return [
        effect<Student>(items.student(id), (s) => {
          const { ibCallThreshold: threshold, ibCallWindowDays: window } = tutoringConfig;
          const asOf = Math.max(s.as_of ? Date.parse(s.as_of) : t, t);
          const before = s.days ? windowSum(s.days, asOf, 'ib_calls', window) : 0;
          count(s, 'student', id, t, { ib_calls: 1 });
          const after = windowSum(s.days!, asOf, 'ib_calls', window);
          // Raised when the student crosses the threshold, not again for every further call.
          if (before < threshold && after >= threshold) {
            return [
              alert({
                alert_type: 'high_ib_call_frequency',
                severity: 'warning',
                entity_type: 'student',
                entity_id: id,
                details: { ib_calls: after, window_days: window, threshold, last_call_id: event.payload.call_id ?? null, reason: event.payload.reason ?? null },
                message: `Student ${id} made ${after} IB calls in the last ${window} days (threshold ${threshold})`,
              }),
            ];
          }
          return [];
        }),
      ];
    }
    case 'customer_health_update': {
      const p = event.payload;
      return [
        effect<Student>(items.student(p.student_id), (s) => {
          count(s, 'student', p.student_id, t, {});
          // The newest report wins; a late one is ignored.
          if (s.health_updated_at && iso(t) < s.health_updated_at) return [];
          const previous = s.health_level ?? 'ok';
          s.health_score = p.health_score;
          s.health_level = healthLevel(p.health_score);
          s.health_updated_at = iso(t);
          s.reported = {
            ...(p.sessions_last_7_days !== undefined ? { sessions_last_7_days: p.sessions_last_7_days } : {}),
            ...(p.sessions_last_30_days !== undefined ? { sessions_last_30_days: p.sessions_last_30_days } : {}),
            ...(p.ib_calls_last_14_days !== undefined ? { ib_calls_last_14_days: p.ib_calls_last_14_days } : {}),
          };
          // Raised when the level worsens or changes between warning and critical, not on every report.
          if (s.health_level === 'ok' || s.health_level === previous) return [];
          const threshold = s.health_level === 'critical' ? tutoringConfig.healthCriticalBelow : tutoringConfig.healthWarningBelow;
          return [
            alert({
              alert_type: 'low_health_score',
              severity: s.health_level,
              entity_type: 'student',
              entity_id: p.student_id,
              details: { health_score: p.health_score, previous_level: previous, threshold, ...s.reported },
              message: `Student ${p.student_id} health score ${p.health_score} is below ${threshold} (${s.health_level})`,
            }),
          ];
        }),
      ];
    }
    case 'tutor_availability_updated': {
      const p = event.payload;
      return [
        effect<Tutor>(items.tutor(p.tutor_id), (s) => {
          count(s, 'tutor', p.tutor_id, t, {});
          if (s.availability_updated_at && iso(t) < s.availability_updated_at) return;
          s.available_hours = p.available_hours;
          if (p.subjects) s.subjects = [...p.subjects];
          s.availability_updated_at = iso(t);
        }),
      ];
    }
    case 'supply_demand_update': {
      const p = event.payload;
      return [
        effect<SupplyDemand>(items.supplyDemand(p.subject, p.region), (s) => {
          if (s.updated_at_event && iso(t) < s.updated_at_event) return [];
          const previous = s.balance_status;
          Object.assign(s, {
            entity_type: 'subject_region',
            subject: p.subject,
            region: p.region,
            available_tutors: p.available_tutors,
            active_students: p.active_students,
            demand_score: p.demand_score,
            supply_score: p.supply_score,
            balance_status: p.balance_status,
            updated_at_event: iso(t),
          });
          if (p.balance_status !== 'high_demand' || previous === 'high_demand') return [];
          return [
            alert({
              alert_type: 'supply_demand_imbalance',
              severity: 'info',
              entity_type: 'subject_region',
              entity_id: `${p.subject}/${p.region}`,
              details: {
                subject: p.subject,
                region: p.region,
                balance_status: p.balance_status,
                demand_score: p.demand_score,
                supply_score: p.supply_score,
                available_tutors: p.available_tutors,
                active_students: p.active_students,
              },
              message: `High demand for ${p.subject} in ${p.region}: demand ${p.demand_score}, supply ${p.supply_score}, ${p.available_tutors} tutors for ${p.active_students} students`,
            }),
          ];
        }),
      ];
    }
  }
}

export const processor = createProcessor(tutoring, route);
export const handler = processor.handler;
