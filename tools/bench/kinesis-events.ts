/**
 * Builds Kinesis stream events with the exact shape Lambda delivers, from
 * generated bodies wrapped in the API's envelope (ARCHITECTURE.md, 4 envelope), so the
 * processor benchmarks feed the handlers what they get in production.
 */
import { createHash } from 'node:crypto';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { FamilyDefinition } from '../../handlers/runtime/family.js';
import type { Body } from '../generators/families.js';

function dotted(body: Body, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Body)[k] : undefined), body);
}

export function partitionKeyOf(family: FamilyDefinition, body: Body, fallback: string): string {
  for (const path of family.partitionKey) {
    const v = dotted(body, path);
    if (typeof v === 'string' && v !== '') return v;
  }
  return fallback;
}

/** Kinesis maps the MD5 of the partition key onto evenly split hash ranges. */
export function shardOf(partitionKey: string, shards: number): number {
  const hash = BigInt(`0x${createHash('md5').update(partitionKey).digest('hex')}`);
  return Number((hash * BigInt(shards)) >> 128n);
}

export interface ShardedRecords {
  /** Per shard, records in sequence order. */
  shards: KinesisStreamRecord[][];
}

/** Kinesis-like sequence numbers: fixed width so string order is numeric order. */
export function sequenceNumber(shard: number, n: number): string {
  return `4959${String(shard).padStart(4, '0')}${String(n).padStart(48, '0')}`;
}

export function toRecords(family: FamilyDefinition, bodies: readonly Body[], shards = 2, region = 'us-east-1'): ShardedRecords {
  const out: KinesisStreamRecord[][] = Array.from({ length: shards }, () => []);
  const now = Date.now();
  bodies.forEach((body, i) => {
    const id = `bench-req-${i}`;
    const pk = partitionKeyOf(family, body, id);
    const shard = shardOf(pk, shards);
    const key = dotted(body, family.idempotencyKey);
    const envelope = { id, family: family.name, key: typeof key === 'string' ? key : null, receivedAt: now, sourceIp: '127.0.0.1', data: body };
    const seq = sequenceNumber(shard, out[shard]!.length + 1);
    const shardId = `shardId-${String(shard).padStart(12, '0')}`;
    out[shard]!.push({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: pk,
        sequenceNumber: seq,
        data: Buffer.from(JSON.stringify(envelope)).toString('base64'),
        approximateArrivalTimestamp: now / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${seq}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: `arn:aws:iam::000000000000:role/bench`,
      awsRegion: region,
      eventSourceARN: `arn:aws:kinesis:${region}:000000000000:stream/bench-${family.name}`,
    });
  });
  return { shards: out };
}

/** Splits each shard into batches of `size` and interleaves shards, like one poller per shard would. */
export function batches(records: ShardedRecords, size: number): KinesisStreamEvent[] {
  const perShard = records.shards.map((list) => {
    const out: KinesisStreamEvent[] = [];
    for (let i = 0; i < list.length; i += size) out.push({ Records: list.slice(i, i + size) });
    return out;
  });
  const result: KinesisStreamEvent[] = [];
  for (let i = 0; perShard.some((b) => i < b.length); i++) for (const b of perShard) if (b[i]) result.push(b[i]!);
  return result;
}

/** The Lambda context object a handler receives (Powertools reads a few fields of it). */
export function lambdaContext(functionName: string) {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: `bench-${Math.random().toString(36).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
