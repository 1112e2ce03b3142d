/**
 * Where an accepted event ends when it can never be applied for a reason that
 * is not its own (issue 8, "What was seen" 7, from the hostile side): with the
 * processor's DynamoDB throttled on every request, retries run out and the
 * mapping sends the records to the on-failure destination, which must keep
 * each record's payload, so it can be redriven after the stream has dropped it.
 * Read through `failedRecords()` (test/hostile/pipeline.ts), which reads the
 * destination the way redrive and the soak do (local/failure-store.ts).
 *
 * Seen failing on today's main (ff82b62), before the fixes, failed: the failure destination held the batch's sequence range only (no payload).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accept, envelope, failedRecordOf, malformedOf, putDirect, settled, startHostile, type Hostile } from './pipeline.js';

let hostile: Hostile;
const local = () => hostile.local;

beforeAll(async () => {
  hostile = await startHostile('failures', { only: ['user_activity'], faults: { dynamoThrottleRate: 1, handlerCrashRate: 0, seed: 3 } });
}, 120_000);

afterAll(async () => {
  await hostile?.stop();
});

describe('the on-failure destination', () => {
  it('keeps the payload of every record whose retries ran out (API and direct), none in the malformed sink', async () => {
    const body = { user_id: 'u-unlucky', action: 'checkout', event_id: 'unlucky-1' };
    const api = await accept(local(), 'user_activity', body);
    const [direct] = await putDirect(local(), 'user_activity', [{ partitionKey: 'u-unlucky-2', data: envelope('user_activity', { user_id: 'u-unlucky-2', action: 'checkout' }) }]);
    await settled(local(), 'user_activity', [api, direct!], 110_000);
    for (const w of [api, direct!]) {
      const failed = failedRecordOf(local(), 'user_activity', w);
      expect(failed, `${w.sequenceNumber} in the failure destination`).toBeDefined();
      expect(failed?.data, 'the record\'s payload is kept, not only its sequence range').toEqual(expect.any(String));
      const kept = JSON.parse(Buffer.from(failed!.data!, 'base64').toString('utf8'));
      expect(kept.family).toBe('user_activity');
    }
    const apiKept = JSON.parse(Buffer.from(failedRecordOf(local(), 'user_activity', api)!.data!, 'base64').toString('utf8'));
    expect(apiKept.data, 'the body exactly as sent').toEqual(body);
    // The malformed sink is for records that can never succeed; a throttled table is not the record's fault.
    // (The sink itself is behind the throttle here, so only its absence can be checked, through dynalite directly.)
    for (const w of [api, direct!]) expect(await malformedOf(local(), 'user_activity', w)).toBeUndefined();
  }, 150_000);
});
