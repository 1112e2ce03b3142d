/**
 * The on-failure destination's layout and the redrive CLI's --since, without
 * engines. Key format from the Lambda Developer Guide, "Retain discarded batch
 * records for a Kinesis Data Streams event source in Lambda"
 * (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html):
 * `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { failureObjectKey, localMappingUuid, payloadRecords, readFailureRecords, removeFailureObject, writeFailureObject, type FailureObject } from '../local/failure-store.js';
import { parseSince } from '../ops/redrive/since.js';

const body = (seq: string): FailureObject => ({
  requestContext: { requestId: 'r', functionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:f', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 4 },
  version: '1.0',
  timestamp: '2026-12-02T09:05:07.000Z',
  KinesisBatchInfo: { shardId: 'shardId-000000000001', startSequenceNumber: seq, endSequenceNumber: seq, approximateArrivalOfFirstRecord: '', approximateArrivalOfLastRecord: '', batchSize: 1, streamArn: 'arn:aws:kinesis:eu-west-1:000000000000:stream/s' },
});

describe('failure object keys', () => {
  it('follow the documented layout, in UTC, with the time twice (folder and name)', () => {
    const at = new Date('2026-03-04T05:06:07.890Z');
    expect(failureObjectKey('0c1e2d3f-0000-4000-8000-000000000001', 'shardId-000000000001', at, 'u-1')).toBe(
      'aws/lambda/0c1e2d3f-0000-4000-8000-000000000001/shardId-000000000001/2026/03/04/2026-03-04T05.06.07-u-1',
    );
  });

  it('the local mapping UUID is stable for a mapping and differs between mappings', () => {
    const a = localMappingUuid('arn:fn:a', 'arn:stream:a');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(localMappingUuid('arn:fn:a', 'arn:stream:a')).toBe(a);
    expect(localMappingUuid('arn:fn:b', 'arn:stream:a')).not.toBe(a);
  });
});

describe('the local destination', () => {
  it('reads back what was written, per family, in key order; removes by key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'event-flow-failure-store-'));
    try {
      const uuid = localMappingUuid('f', 's');
      const later = failureObjectKey(uuid, 'shardId-000000000001', new Date('2026-12-02T10:00:00Z'), 'b');
      const earlier = failureObjectKey(uuid, 'shardId-000000000001', new Date('2026-12-02T09:00:00Z'), 'a');
      writeFailureObject(dir, 'orders', later, body('2'));
      writeFailureObject(dir, 'orders', earlier, { ...body('1'), payload: JSON.stringify({ Records: [{ kinesis: { sequenceNumber: '1' } }] }) });
      writeFailureObject(dir, 'payments', earlier, body('9'));
      const orders = readFailureRecords(dir, 'orders');
      expect(orders.map((o) => o.key)).toEqual([earlier, later]);
      // A payload kept as JSON text (as AWS may write "the whole event") reads the same as an object.
      expect(payloadRecords(orders[0]!.body)!.map((r) => r.kinesis.sequenceNumber)).toEqual(['1']);
      expect(payloadRecords(orders[1]!.body)).toBeUndefined();
      expect(readFailureRecords(dir).map((o) => o.family)).toEqual(['orders', 'orders', 'payments']);
      removeFailureObject(dir, 'orders', earlier);
      expect(readFailureRecords(dir, 'orders').map((o) => o.key)).toEqual([later]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('redrive --since', () => {
  it('takes an ISO time or a duration back from now, and refuses anything else', () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    expect(parseSince('2026-12-01T00:00:00Z', now)!.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(parseSince('6h', now)!.toISOString()).toBe('2026-12-02T04:00:00.000Z');
    expect(parseSince('7d', now)!.toISOString()).toBe('2026-11-25T10:00:00.000Z');
    expect(parseSince(undefined, now)).toBeUndefined();
    expect(() => parseSince('yesterday', now)).toThrow(/--since/);
  });
});
