import { createProcessor, dayKey, DAY_MS, dayIndex, dict, effect, iso, tally, type Dict, type Effect } from '../runtime/index.js';
import { userActivityConfig } from './config.js';
import { userActivity, type UserActivityEvent } from './family.js';

interface Counts {
  /** At most `USER_ACTIVITY_MAX_ACTIONS` distinct names; the rest are counted in `other_actions`. */
  actions: Dict<number>;
  other_actions: number;
  total: number;
}
interface Profile extends Counts {
  user_id: string;
  first_seen: string;
  last_seen: string;
  last_action: string;
}
interface Day extends Counts {
  user_id: string;
  day: string;
  expiresAt: number;
}

export const route = (event: UserActivityEvent, { eventTime, arrivalTime }: { eventTime: number; arrivalTime: number }) => {
  const user = (sort: string) => ({ entity: 'user', id: event.user_id, sort });
  const at = iso(eventTime);
  const count = (s: Partial<Counts>) => {
    s.actions ??= dict();
    if (!tally(s.actions, event.action, 1, userActivityConfig.maxActions)) s.other_actions = (s.other_actions ?? 0) + 1;
    s.total = (s.total ?? 0) + 1;
  };
  const effects: Effect[] = [
    effect<Profile>(user('profile'), (s) => {
      s.user_id = event.user_id;
      count(s);
      if (!s.first_seen || at < s.first_seen) s.first_seen = at;
      // Late events never move "last seen" backwards.
      if (!s.last_seen || at >= s.last_seen) {
        s.last_seen = at;
        s.last_action = event.action;
      }
    }),
  ];
  const expiresAt = Math.floor(((dayIndex(eventTime) + 1) * DAY_MS) / 1000) + userActivityConfig.dayRetentionDays * 86_400;
  // A day already past its retention when the event arrived gets no item: its TTL would lie in the past.
  if (expiresAt * 1000 > arrivalTime) {
    effects.push(
      effect<Day>(user(`day#${dayKey(eventTime)}`), (s) => {
        s.user_id = event.user_id;
        s.day = dayKey(eventTime);
        count(s);
        s.expiresAt = expiresAt;
      })
    );
  }
  return effects;
};

export const processor = createProcessor(userActivity, route);
export const handler = processor.handler;
