/**
 * Failure handling of the local event source mapping, and restarts. A
 * test-only family, `local_probe` (test/fixtures/local-probe/index.mjs, never
 * deployed), replaces the dev families here: its handler throws on a batch
 * holding a `poison` record, reports a `flaky` record once as a batch item
 * failure, and logs every invocation, so the test sees exactly what was
 * delivered and when.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { defineFamily } from '../handlers/runtime/family.js';
import type { FamilyDeployment, PipelineDeployment } from '../modules/deployment.js';
import { payloadRecords, readFailureRecords, type StoredFailure } from '../local/failure-store.js';
import { startLocal, type LocalPipeline } from '../local/index.js';
import { eventually, post, tempStateDir } from './local/helpers.js';

interface Invocation {
  requestId: string;
  functionName: string;
  remainingMs: number;
  family: string;
  table: string;
  ids: string[];
  seqs: string[];
  outcome: 'ok' | 'throw' | 'partial';
}

const stateDir = tempStateDir('local-failures');
const probeLog = join(stateDir, 'probe.jsonl');

const probeFamily = defineFamily({
  name: 'local_probe',
  description: 'Test-only family of the local-mode failure tests.',
  // Every field the probes send is declared: the edge's models accept no undeclared ones (modules/model-bounds.ts).
  schema: z.object({ id: z.string(), poison: z.optional(z.boolean()), flaky: z.optional(z.boolean()), sleepMs: z.optional(z.number()) }),
  partitionKey: ['id'],
  idempotencyKey: 'event_id',
  example: { id: 'x' },
});

function withProbe(dev: PipelineDeployment): PipelineDeployment {
  const probe: FamilyDeployment = {
    family: probeFamily,
    stream: { name: `${dev.project}-${dev.environment}-local_probe`, mode: 'PROVISIONED', shardCount: 1, retentionHours: 24 },
    processor: {
      functionName: `${dev.project}-${dev.environment}-local_probe`,
      handler: 'index.handler',
      bundleDir: 'test/fixtures/local-probe',
      memorySize: 128,
      timeoutSeconds: 30,
      environment: { TABLE_NAME: dev.tableName, FAMILY_NAME: 'local_probe', PROBE_LOG: probeLog },
    },
    eventSource: {
      startingPosition: 'TRIM_HORIZON',
      batchSize: 10,
      maximumBatchingWindowInSeconds: 1,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 2,
      maximumRecordAgeInSeconds: 3600,
      parallelizationFactor: 1,
      reportBatchItemFailures: true,
    },
    failureRetentionDays: 14,
  };
  // The same handler on a second stream whose records expire after 1 s (AWS's minimum is 60 s; the poller does not care).
  const aging: FamilyDeployment = {
    ...probe,
    family: { ...probeFamily, name: 'local_probe_age' },
    stream: { ...probe.stream, name: `${dev.project}-${dev.environment}-local_probe_age` },
    processor: {
      ...probe.processor,
      functionName: `${dev.project}-${dev.environment}-local_probe_age`,
      environment: { ...probe.processor.environment, FAMILY_NAME: 'local_probe_age', PROBE_LOG: `${probeLog}.age` },
    },
    eventSource: { ...probe.eventSource, maximumRecordAgeInSeconds: 1, maximumBatchingWindowInSeconds: 0 },
  };
  // Only the probes: the dev families have their own suite, and fewer pollers keep this one quick.
  return { ...dev, families: [probe, aging] };
}

function invocations(): Invocation[] {
  if (!existsSync(probeLog)) return [];
  return readFileSync(probeLog, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Invocation);
}

/** Sequence numbers the handler completed: all of an `ok` batch, and those before the reported record of a `partial` one. */
function completed(all: Invocation[], flakySeqs: Set<string>): string[] {
  const done: string[] = [];
  for (const inv of all) {
    if (inv.outcome === 'ok') done.push(...inv.seqs);
    if (inv.outcome === 'partial') {
      const cut = inv.seqs.findIndex((s) => flakySeqs.has(s));
      done.push(...inv.seqs.slice(0, cut));
    }
  }
  return done;
}

/** The family's failure objects (the S3 destination's layout and body; local/failure-store.ts). */
function dlqRecords(local: LocalPipeline, family = 'local_probe'): StoredFailure[] {
  return readFailureRecords(local.stateDir, family);
}

/** `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>` (Lambda Developer Guide, kinesis-on-failure-destination). */
const S3_DESTINATION_KEY = /^aws\/lambda\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/shardId-000000000000\/(\d{4})\/(\d\d)\/(\d\d)\/\1-\2-\3T\d\d\.\d\d\.\d\d-[0-9a-f-]{36}$/;

let local: LocalPipeline | undefined;
const sent = new Map<string, string>(); // id -> sequence number

async function send(records: Array<Record<string, unknown>>): Promise<void> {
  const r = await post(`${local!.apiUrl}/events/local_probe/batch`, { records });
  expect(r.status).toBe(202);
  records.forEach((rec, i) => sent.set(String(rec.id), r.json.records[i].sequenceNumber));
}

beforeAll(async () => {
  local = await startLocal({ port: 0, stateDir, quiet: true, deployment: withProbe });
});

afterAll(async () => {
  await local?.stop();
  if (!process.env.KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
});

describe('a handler that throws on one record', () => {
  it('retries, bisects down to the record, sends exactly it to the on-failure destination, and processes the others', async () => {
    const records = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5'].map((id) => ({ id: 'same-key', poison: id === 'a2', tag: id }));
    // One partition key, one shard, one batch (the window gathers them).
    const ids = records.map((r) => r.tag);
    const response = await post(`${local!.apiUrl}/events/local_probe/batch`, { records: records.map((r) => ({ id: r.tag, poison: r.poison })) });
    expect(response.status).toBe(202);
    ids.forEach((id, i) => sent.set(id, response.json.records[i].sequenceNumber));

    const [stored] = await eventually(() => (dlqRecords(local!).length > 0 ? dlqRecords(local!) : undefined), 30_000, 'a failure object');
    expect(stored!.key).toMatch(S3_DESTINATION_KEY);
    const dlq = stored!.body;
    const poisonSeq = sent.get('a2')!;
    const functionArn = `arn:aws:lambda:${local!.deployment.region}:000000000000:function:event-flow-dev-local_probe`;
    expect(dlq).toEqual({
      requestContext: { requestId: expect.stringMatching(/^[0-9a-f-]{36}$/), functionArn, condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: poisonSeq,
        endSequenceNumber: poisonSeq,
        approximateArrivalOfFirstRecord: expect.stringMatching(/Z$/),
        approximateArrivalOfLastRecord: expect.stringMatching(/Z$/),
        batchSize: 1,
        streamArn: `arn:aws:kinesis:${local!.deployment.region}:000000000000:stream/event-flow-dev-local_probe`,
      },
      payload: { Records: [expect.objectContaining({ eventSource: 'aws:kinesis', eventID: `shardId-000000000000:${poisonSeq}` })] },
    });
    expect(Object.keys(dlq)).toEqual(['requestContext', 'responseContext', 'version', 'timestamp', 'KinesisBatchInfo', 'payload']);
    // The payload is the failed record itself, byte for byte as the function received it.
    const [failed] = payloadRecords(dlq)!;
    expect(failed!.kinesis.sequenceNumber).toBe(poisonSeq);
    expect(JSON.parse(Buffer.from(failed!.kinesis.data, 'base64').toString('utf8')).data).toEqual({ id: 'a2', poison: true });

    await eventually(() => (completed(invocations(), new Set()).length >= 5 ? true : undefined), 20_000, 'the five good records processed');
    const all = invocations();
    // The first invocation had the whole batch; then halves; the poison record alone 1 + 2 retries times.
    expect(all[0]!.ids).toEqual(ids);
    expect(all[0]!.outcome).toBe('throw');
    expect(all.filter((i) => i.ids.length === 1 && i.ids[0] === 'a2')).toHaveLength(3);
    const done = completed(all, new Set());
    expect(done.sort()).toEqual(['a0', 'a1', 'a3', 'a4', 'a5'].map((id) => sent.get(id)!).sort());
    // The sandbox has the function's own environment and a Lambda-like context.
    expect(all[0]).toMatchObject({ functionName: 'event-flow-dev-local_probe', family: 'local_probe', table: local!.deployment.tableName });
    expect(all[0]!.remainingMs).toBeGreaterThan(25_000);
    expect(all[0]!.remainingMs).toBeLessThanOrEqual(30_000);
  });

  it('a partial batch response checkpoints before the reported record and retries from it', async () => {
    const before = invocations().length;
    await send([{ id: 'p0' }, { id: 'p1' }, { id: 'p2', flaky: true }, { id: 'p3' }]);
    const flaky = new Set([sent.get('p2')!]);
    await eventually(() => {
      const done = completed(invocations().slice(before), flaky);
      return ['p0', 'p1', 'p2', 'p3'].every((id) => done.includes(sent.get(id)!)) ? true : undefined;
    }, 20_000, 'p0..p3 processed');
    const mine = invocations().slice(before);
    expect(mine[0]!.outcome).toBe('partial');
    expect(mine[0]!.ids).toEqual(['p0', 'p1', 'p2', 'p3']);
    // The retry starts at the reported record: p0 and p1 are not delivered again.
    expect(mine[1]!.ids).toEqual(['p2', 'p3']);
    expect(mine[1]!.outcome).toBe('ok');
  });
});

describe('maximum record age', () => {
  it('records older than the limit when read go to the on-failure destination as RecordAgeExceeded, without an invocation', async () => {
    const url = `${local!.apiUrl}/events/local_probe_age`;
    // The first invocation sleeps 2.5 s; the record sent meanwhile is over 1 s old when the shard is read again.
    expect((await post(url, { id: 'slow', sleepMs: 2500 })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 700));
    const old = await post(url, { id: 'old' });
    expect(old.status).toBe(202);
    const record = await eventually(() => dlqRecords(local!, 'local_probe_age')[0]?.body, 20_000, 'an expired-record failure object');
    expect(record.requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 1 });
    expect(record).not.toHaveProperty('responseContext');
    expect(record.KinesisBatchInfo).toMatchObject({ batchSize: 1, startSequenceNumber: old.json.sequenceNumber, endSequenceNumber: old.json.sequenceNumber });
    expect(payloadRecords(record)!.map((r) => r.kinesis.sequenceNumber)).toEqual([old.json.sequenceNumber]);
    const ageLog = readFileSync(`${probeLog}.age`, 'utf8');
    expect(ageLog).toContain('"slow"');
    expect(ageLog).not.toContain('"old"');
  });
});

describe('a restart in the middle', () => {
  it('keeps streams, table and checkpoints, and processes nothing twice', async () => {
    const marker = { pk: { S: 'local_probe#restart' }, sk: { S: 'marker' } };
    await local!.dynamo.send(new PutItemCommand({ TableName: local!.deployment.tableName, Item: marker }));
    const checkpointsBefore = JSON.parse(readFileSync(join(stateDir, 'checkpoints.json'), 'utf8')) as Record<string, { sequenceNumber?: string }>;
    expect(Object.values(checkpointsBefore)[0]!.sequenceNumber).toBe(sent.get('p3'));
    // Records sent just before the stop: processed either before it or after the restart, never both.
    await send([{ id: 'r0' }, { id: 'r1' }]);
    await local!.stop();

    local = await startLocal({ port: 0, stateDir, quiet: true, deployment: withProbe });
    const streams = await local.kinesis.send(new ListStreamsCommand({}));
    expect(streams.StreamNames).toContain('event-flow-dev-local_probe');
    const item = await local.dynamo.send(new GetItemCommand({ TableName: local.deployment.tableName, Key: marker }));
    expect(item.Item).toEqual(marker);

    await send([{ id: 'q0' }, { id: 'q1' }, { id: 'q2' }]);
    const everyId = [...sent.keys()].filter((id) => id !== 'a2');
    await eventually(() => {
      const done = new Set(completed(invocations(), new Set([sent.get('p2')!])));
      return everyId.every((id) => done.has(sent.get(id)!)) ? true : undefined;
    }, 30_000, 'every record processed');
    const done = completed(invocations(), new Set([sent.get('p2')!]));
    const counts = new Map<string, number>();
    for (const seq of done) counts.set(seq, (counts.get(seq) ?? 0) + 1);
    expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
    // The poison record went to the destination once, and was not redelivered after the restart.
    expect(invocations().filter((i) => i.ids.includes('a2'))).toHaveLength(5);
    expect(dlqRecords(local)).toHaveLength(1);
  });
});
