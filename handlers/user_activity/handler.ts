import { createProcessor, dayKey, DAY_MS, dayIndex, iso, type State } from '../runtime/index.js';
import { userActivityConfig } from './config.js';
import { userActivity, type UserActivityEvent } from './family.js';

interface Profile {
  user_id: string;
  actions: Record<string, number>;
  total: number;
  first_seen: string;
  last_seen: string;
  last_action: string;
}
interface Day {
  user_id: string;
  day: string;
  actions: Record<string, number>;
  total: number;
  expiresAt: number;
}

export const route = (event: UserActivityEvent, { eventTime }: { eventTime: number }) => {
  const pk = `user_activity#user#${event.user_id}`;
  const at = iso(eventTime);
  const count = (s: { actions?: Record<string, number>; total?: number }) => {
    s.actions ??= {};
    s.actions[event.action] = (s.actions[event.action] ?? 0) + 1;
    s.total = (s.total ?? 0) + 1;
  };
  return [
    {
      pk,
      sk: 'profile',
      apply(state: State) {
        const s = state as unknown as Partial<Profile>;
        s.user_id = event.user_id;
        count(s);
        if (!s.first_seen || at < s.first_seen) s.first_seen = at;
        // Late events never move "last seen" backwards.
        if (!s.last_seen || at >= s.last_seen) {
          s.last_seen = at;
          s.last_action = event.action;
        }
      },
    },
    {
      pk,
      sk: `day#${dayKey(eventTime)}`,
      apply(state: State) {
        const s = state as unknown as Partial<Day>;
        s.user_id = event.user_id;
        s.day = dayKey(eventTime);
        count(s);
        s.expiresAt = Math.floor(((dayIndex(eventTime) + 1) * DAY_MS) / 1000) + userActivityConfig.dayRetentionDays * 86_400;
      },
    },
  ];
};

export const processor = createProcessor(userActivity, route);
export const handler = processor.handler;
