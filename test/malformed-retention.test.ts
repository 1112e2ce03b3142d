/**
 * Malformed records keep their raw data only as long as failed records are
 * kept (MALFORMED_TTL_SECONDS, which the stacks set to the failure bucket's
 * retention), and their alert carries the table key of the kept record, which
 * is all the alert rule forwards to e-mail (modules/alert-routing.ts).
 * Through the real user_activity processor, dynalite and the alert sink.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useHarness } from './support/harness.js';
import { kinesisEvent, rawJson, records } from './support/kinesis.js';
import { userActivity } from '../handlers/user_activity/family.js';
import { handler } from '../handlers/user_activity/handler.js';

const h = useHarness();

afterEach(() => {
  delete process.env.MALFORMED_TTL_SECONDS;
});

async function sinkOne() {
  const event = kinesisEvent(records(userActivity, [rawJson({ family: 'user_activity', data: { user_id: 'u-1' } }, 'pk-bad')]));
  const arrival = event.Records[0]!.kinesis.approximateArrivalTimestamp;
  expect((await handler(event)).batchItemFailures).toEqual([]);
  const [item] = (await h().scan()).filter((i) => i.pk === 'user_activity#malformed');
  const [alert] = h().sink.entries.filter((e) => e.DetailType === 'MalformedEvent');
  return { item: item!, alert: alert!, arrival };
}

describe('malformed sink retention', () => {
  it('expires 14 days after the record arrived by default (TTL attribute expiresAt, epoch seconds)', async () => {
    const { item, arrival } = await sinkOne();
    expect(Number(item.expiresAt)).toBe(Math.floor(arrival) + 14 * 86_400);
  });

  it('follows MALFORMED_TTL_SECONDS', async () => {
    process.env.MALFORMED_TTL_SECONDS = String(3 * 86_400);
    const { item, arrival } = await sinkOne();
    expect(Number(item.expiresAt)).toBe(Math.floor(arrival) + 3 * 86_400);
  });

  it('the alert names the kept record by its table key', async () => {
    const { item, alert } = await sinkOne();
    expect(alert.detail.details.record_key).toEqual({ pk: item.pk, sk: item.sk });
  });
});
