import { describe, expect, it } from 'vitest';
import { useHarness } from '../../test/support/harness.js';
import { kinesisEvent, records } from '../../test/support/kinesis.js';
import { userActivity } from './family.js';
import { handler } from './handler.js';

const h = useHarness();

const act = (user_id: string, action: string, timestamp: string) => ({ user_id, action, timestamp, metadata: { page: '/x' } });

describe('user_activity processor', () => {
  it('keeps per-user counters by action, daily buckets with a TTL, and first/last seen', async () => {
    const res = await handler(
      kinesisEvent(
        records(userActivity, [
          act('u-1', 'page_view', '2026-11-20T09:00:00Z'),
          act('u-1', 'click', '2026-11-20T09:01:00Z'),
          act('u-1', 'page_view', '2026-11-21T10:00:00Z'),
          act('u-2', 'search', '2026-11-21T11:00:00Z'),
          // Late event: counted, but "last seen" does not move back.
          act('u-1', 'sign_in', '2026-11-19T23:00:00Z'),
        ]),
      ),
    );
    expect(res.batchItemFailures).toEqual([]);
    const items = await h().scan();
    const get = (pk: string, sk: string) => items.find((i) => i.pk === pk && i.sk === sk);
    expect(get('user_activity#user#u-1', 'profile')).toMatchObject({
      actions: { page_view: 2, click: 1, sign_in: 1 },
      total: 4,
      first_seen: '2026-11-19T23:00:00.000Z',
      last_seen: '2026-11-21T10:00:00.000Z',
      last_action: 'page_view',
    });
    expect(get('user_activity#user#u-1', 'day#2026-11-20')).toMatchObject({ actions: { page_view: 1, click: 1 }, total: 2, expiresAt: Date.parse('2026-11-21T00:00:00Z') / 1000 + 90 * 86400 });
    expect(get('user_activity#user#u-1', 'day#2026-11-21')).toMatchObject({ actions: { page_view: 1 }, total: 1 });
    expect(get('user_activity#user#u-1', 'day#2026-11-19')).toMatchObject({ actions: { sign_in: 1 }, total: 1 });
    expect(get('user_activity#user#u-2', 'profile')).toMatchObject({ actions: { search: 1 }, total: 1 });
    // 5 events, 6 distinct items: one write each.
    expect(h().proxy.counts.PutItem).toBe(6);
    expect(items.filter((i) => String(i.pk).startsWith('user_activity#user#'))).toHaveLength(6);
    expect(h().sink.entries).toEqual([]);
  });

  it('uses the envelope receivedAt when the body has no timestamp', async () => {
    await handler(kinesisEvent(records(userActivity, [{ user_id: 'u-3', action: 'page_view' }])));
    const profile = (await h().scan()).find((i) => i.pk === 'user_activity#user#u-3' && i.sk === 'profile');
    // records() stamps envelopes as received at 2026-11-23T10:00:00Z.
    expect(profile).toMatchObject({ last_seen: '2026-11-23T10:00:00.000Z' });
  });
});

describe('user_activity with hostile data', () => {
  it('counts actions named after Object.prototype members as plain names', async () => {
    const names = ['constructor', 'constructor', 'to_string', 'tostring', 'hasownproperty', 'valueof', 'isprototypeof'];
    const bodies = names.map((action, i) => act('u-p', action, `2026-11-20T09:0${i}:00Z`));
    expect((await handler(kinesisEvent(records(userActivity, bodies)))).batchItemFailures).toEqual([]);
    const profile = (await h().scan()).find((i) => i.pk === 'user_activity#user#u-p' && i.sk === 'profile')!;
    expect({ ...(profile.actions as object) }).toEqual({ constructor: 2, to_string: 1, tostring: 1, hasownproperty: 1, valueof: 1, isprototypeof: 1 });
    expect(profile).toMatchObject({ total: 7 });
  });

  it('keeps at most USER_ACTIVITY_MAX_ACTIONS distinct names per item; the rest count in other_actions', async () => {
    const bodies = Array.from({ length: 130 }, (_, i) => act('u-many', `action_${i}`, '2026-11-20T09:00:00Z'));
    expect((await handler(kinesisEvent(records(userActivity, bodies)))).batchItemFailures).toEqual([]);
    const profile = (await h().scan()).find((i) => i.pk === 'user_activity#user#u-many' && i.sk === 'profile')!;
    expect(Object.keys(profile.actions as object)).toHaveLength(100);
    expect(profile).toMatchObject({ total: 130, other_actions: 30 });
  });
});

describe('user_activity day retention', () => {
  const good = (user_id: string) => ({ user_id, action: 'page_view' });

  it('never computes a TTL in the past: a user_activity day older than its retention gets no day item', async () => {
    await handler(kinesisEvent(records(userActivity, [{ ...good('u-1'), timestamp: '2020-01-01T10:00:00Z' }, { ...good('u-1'), timestamp: '2026-11-22T10:00:00Z' }])));
    const items = (await h().scan()).filter((i) => i.pk === 'user_activity#user#u-1');
    expect(items.map((i) => i.sk)).toEqual(['day#2026-11-22', 'profile']);
    expect(items.find((i) => i.sk === 'profile')).toMatchObject({ total: 2 });
    const now = Date.now() / 1000;
    for (const item of await h().scan()) if (item.expiresAt !== undefined) expect(Number(item.expiresAt)).toBeGreaterThan(now);
  });
});
