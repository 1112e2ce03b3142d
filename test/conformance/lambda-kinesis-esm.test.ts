/**
 * Conformance of local mode's event source mapping (local/poller.ts) with
 * recorded real-AWS runs (./recorded-lambda.ts). The Kinesis engine is the
 * real kinesis-local; the function is scripted (it is the code under the
 * mapping, not AWS), so each recorded answer can be replayed exactly.
 */
import { readFailureRecords } from '../../local/failure-store.js';
import { join } from 'node:path';
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinesisClient } from '../../local/aws.js';
import { CheckpointStore } from '../../local/checkpoints.js';
import { startKinesis, type KinesisEngine } from '../../local/engines/kinesis.js';
import type { InvokeOutcome, Sandbox } from '../../local/invoker.js';
import { StreamPoller, type OnFailureRecord } from '../../local/poller.js';
import { waitUntil } from '../../local/ports.js';
import type { FamilyDeployment } from '../../modules/deployment.js';
import { eventually, tempStateDir } from '../local/helpers.js';
import { DOCUMENTED_BISECT, KINESIS_EVENT_RECORD, ON_FAILURE_RECORD, RECORDED_AGE_RUNS, RECORDED_RUNS, S3_FAILURE_OBJECT, type RecordedRun } from './recorded-lambda.js';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const ROLE = 'conformance-fn-processor';
const dir = tempStateDir('conformance-esm');
let engine: KinesisEngine;
let kinesis: KinesisClient;
let streams = 0;

beforeAll(async () => {
  engine = await startKinesis({ dataDir: join(dir, 'kinesis'), logFile: join(dir, 'kinesis.log'), region: REGION });
  kinesis = kinesisClient(engine.endpoint, REGION);
}, 60_000);

afterAll(async () => {
  kinesis?.destroy();
  await engine?.stop();
});

type Script = (event: KinesisStreamEvent, call: number) => { result?: unknown; error?: boolean };

interface Run {
  readonly events: KinesisStreamEvent[];
  readonly failures: OnFailureRecord[];
  readonly sequence: string[];
}

/** One stream, `records` records (the first `expired` of them older than the maximum age), one mapping, until `done`. */
async function run(
  mapping: { batchSize: number; maximumRetryAttempts: number; bisect?: boolean; maximumRecordAgeInSeconds?: number },
  records: number,
  script: Script,
  done: (r: Run) => boolean,
  options: { expired?: number } = {},
): Promise<Run> {
  const name = `conformance-${++streams}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  await waitUntil(async () => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE', name);
  const sequence: string[] = [];
  const put = async (i: number) =>
    sequence.push((await kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: `test_${i}`, Data: Buffer.from(`{"n":${i}}`) }))).SequenceNumber!);
  const expired = options.expired ?? 0;
  for (let i = 0; i < expired; i++) await put(i);
  if (expired > 0) await new Promise((r) => setTimeout(r, (mapping.maximumRecordAgeInSeconds ?? 1) * 1000 + 500));
  for (let i = expired; i < records; i++) await put(i);

  const family = {
    family: { name, description: '', schema: undefined as never, partitionKey: ['n'], idempotencyKey: 'id', example: {} },
    stream: { name, mode: 'PROVISIONED', shardCount: 1, retentionHours: 24 },
    processor: { functionName: 'conformance-fn', roleName: ROLE, handler: 'index.handler', bundleDir: '.', memorySize: 128, timeoutSeconds: 30, environment: {} },
    eventSource: {
      startingPosition: 'TRIM_HORIZON',
      batchSize: mapping.batchSize,
      maximumBatchingWindowInSeconds: 0,
      bisectBatchOnFunctionError: mapping.bisect ?? false,
      maximumRetryAttempts: mapping.maximumRetryAttempts,
      maximumRecordAgeInSeconds: mapping.maximumRecordAgeInSeconds ?? 3600,
      parallelizationFactor: 1,
      reportBatchItemFailures: true,
    },
    failureRetentionDays: 14,
  } satisfies FamilyDeployment;
  const events: KinesisStreamEvent[] = [];
  let calls = 0;
  const sandbox = {
    async invoke(event: KinesisStreamEvent): Promise<InvokeOutcome> {
      const answer = script(event, calls++);
      return answer.error
        ? { requestId: `req-${calls}`, error: { errorType: 'Error', errorMessage: 'scripted' }, durationMs: 1 }
        : { requestId: `req-${calls}`, result: answer.result, durationMs: 1 };
    },
    async close() {},
  } as unknown as Sandbox;
  const poller = new StreamPoller({
    family,
    region: REGION,
    accountId: ACCOUNT,
    kinesis,
    checkpoints: new CheckpointStore(join(dir, `${name}.checkpoints.json`)),
    stateDir: dir,
    sandbox: () => sandbox,
    onEvent: (e) => events.push(e),
    idlePollMs: 50,
  });
  // Oldest first, as the recorded runs list them (the object keys start with the failure time).
  const failures = (): OnFailureRecord[] => readFailureRecords(dir, name).map((f) => f.body);
  await poller.start();
  try {
    await eventually(() => done({ events, failures: failures(), sequence }) || undefined, 30_000, `${name} to finish`);
    // Settle: nothing more should happen once the recorded outcome is reached.
    await new Promise((r) => setTimeout(r, 400));
  } finally {
    await poller.stop();
  }
  return { events, failures: failures(), sequence };
}

function scriptOf(recorded: RecordedRun, sequence: () => string[]): Script {
  const answer = recorded.answer;
  if (answer === 'throw') return () => ({ error: true });
  if ('returns' in answer) return () => ({ result: answer.returns });
  return (event) => ({
    result: {
      batchItemFailures: event.Records.filter((r) => answer.failsRecords.includes(sequence().indexOf(r.kinesis.sequenceNumber))).map((r) => ({
        itemIdentifier: r.kinesis.sequenceNumber,
      })),
    },
  });
}

function typesOf(object: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, v === null ? 'null' : typeof v]));
}

describe('Lambda Kinesis event record', () => {
  it(`has the recorded fields, types and formats (${KINESIS_EVENT_RECORD.source.case})`, async () => {
    const r = await run({ batchSize: 10, maximumRetryAttempts: 0 }, 2, () => ({ result: null }), (x) => x.events.length >= 1);
    const record = r.events[0]!.Records[0]! as unknown as Record<string, unknown>;
    expect(typesOf(record)).toEqual(KINESIS_EVENT_RECORD.fields);
    expect(typesOf(record.kinesis as Record<string, unknown>)).toEqual(KINESIS_EVENT_RECORD.kinesisFields);
    expect(record).toMatchObject({
      eventName: KINESIS_EVENT_RECORD.constants.eventName,
      eventSource: KINESIS_EVENT_RECORD.constants.eventSource,
      eventVersion: KINESIS_EVENT_RECORD.constants.eventVersion,
      kinesis: { kinesisSchemaVersion: KINESIS_EVENT_RECORD.constants.kinesisSchemaVersion, partitionKey: 'test_0', sequenceNumber: r.sequence[0] },
    });
    expect(record.eventID).toMatch(KINESIS_EVENT_RECORD.eventIdFormat);
    expect(record.eventID).toBe(`shardId-000000000000:${r.sequence[0]}`);
    expect(record.eventSourceARN).toMatch(KINESIS_EVENT_RECORD.eventSourceArnFormat);
    expect(record.invokeIdentityArn).toMatch(KINESIS_EVENT_RECORD.invokeIdentityArnFormat);
    // The function's execution role, as the stacks name it.
    expect(record.invokeIdentityArn).toBe(`arn:aws:iam::${ACCOUNT}:role/${ROLE}`);
  }, 30_000);
});

describe('invoke counts and the on-failure record', () => {
  for (const recorded of RECORDED_RUNS) {
    it(`${recorded.name} (${recorded.source.case})`, async () => {
      let sequence: string[] = [];
      const expectFailure = recorded.onFailure !== undefined;
      const r = await run(
        recorded.mapping,
        recorded.records,
        scriptOf(recorded, () => sequence),
        (x) => {
          sequence = x.sequence;
          return expectFailure ? x.failures.length > 0 : x.events.length >= recorded.invocations;
        },
      );
      expect(r.events).toHaveLength(recorded.invocations);
      if (recorded.deliveriesPerRecord) {
        const delivered = r.sequence.map((seq) => r.events.filter((e) => e.Records.some((x) => x.kinesis.sequenceNumber === seq)).length);
        expect(delivered).toEqual(recorded.deliveriesPerRecord);
      }
      if (!recorded.onFailure) {
        expect(r.failures).toEqual([]);
        return;
      }
      expect(r.failures).toHaveLength(1);
      const failure = r.failures[0]!;
      // Local mode writes the S3 destination's object: the record Lambda sends to SQS, plus the payload.
      expect(Object.keys(failure).sort()).toEqual([...S3_FAILURE_OBJECT.topLevel].sort());
      expect(typesOf(failure.requestContext as unknown as Record<string, unknown>)).toEqual(ON_FAILURE_RECORD.requestContext);
      expect(typesOf(failure.KinesisBatchInfo as unknown as Record<string, unknown>)).toEqual(ON_FAILURE_RECORD.kinesisBatchInfo);
      expect(failure.requestContext.condition).toBe(recorded.onFailure.condition);
      expect(failure.requestContext.approximateInvokeCount).toBe(recorded.onFailure.approximateInvokeCount);
      expect(failure.requestContext.functionArn).toMatch(ON_FAILURE_RECORD.functionArnFormat);
      // The key is there even when null: recorded as `"functionError": null`.
      expect(failure.responseContext).toEqual({
        statusCode: ON_FAILURE_RECORD.statusCode,
        executedVersion: ON_FAILURE_RECORD.executedVersion,
        functionError: recorded.onFailure.functionError,
      });
      expect(failure.version).toBe(ON_FAILURE_RECORD.version);
      expect(failure.timestamp).toMatch(ON_FAILURE_RECORD.timestampFormat);
      expect(failure.KinesisBatchInfo.approximateArrivalOfFirstRecord).toMatch(ON_FAILURE_RECORD.timestampFormat);
      expect(failure.KinesisBatchInfo.batchSize).toBe(recorded.onFailure.batchSize);
      expect(failure.KinesisBatchInfo.startSequenceNumber).toBe(r.sequence[recorded.onFailure.range[0]]);
      expect(failure.KinesisBatchInfo.endSequenceNumber).toBe(r.sequence[recorded.onFailure.range[1]]);
    }, 40_000);
  }

  it(`bisection: ${DOCUMENTED_BISECT.rule} (derived from ${DOCUMENTED_BISECT.source.where}; not a recording)`, async () => {
    let sequence: string[] = [];
    const r = await run(
      DOCUMENTED_BISECT.mapping,
      DOCUMENTED_BISECT.records,
      (event) => ({ error: event.Records.some((x) => sequence.indexOf(x.kinesis.sequenceNumber) === DOCUMENTED_BISECT.poison) }),
      (x) => {
        sequence = x.sequence;
        return x.failures.length > 0 && x.events.some((e) => e.Records.length === 1 && e.Records[0]!.kinesis.sequenceNumber === x.sequence[3]);
      },
    );
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]!.requestContext).toMatchObject({
      condition: DOCUMENTED_BISECT.onFailure.condition,
      approximateInvokeCount: DOCUMENTED_BISECT.onFailure.approximateInvokeCount,
    });
    expect(r.failures[0]!.responseContext?.functionError).toBe(DOCUMENTED_BISECT.onFailure.functionError);
    expect(r.failures[0]!.KinesisBatchInfo.startSequenceNumber).toBe(r.sequence[DOCUMENTED_BISECT.poison]);
    expect(r.failures[0]!.KinesisBatchInfo.batchSize).toBe(DOCUMENTED_BISECT.onFailure.batchSize);
  }, 40_000);
});

describe('maximum record age', () => {
  for (const recorded of RECORDED_AGE_RUNS) {
    it(`${recorded.name} (${recorded.source.case})`, async () => {
      const total = recorded.expired + recorded.fresh;
      const r = await run(
        // 3 s, not AWS's minimum of 60 (the poller does not care): long enough for the fresh records to be read in time on a busy machine.
        { ...recorded.mapping, maximumRecordAgeInSeconds: 3 },
        total,
        () => ({ result: null }),
        (x) => x.failures.length > 0 && x.events.reduce((n, e) => n + e.Records.length, 0) >= recorded.deliveredToFunction,
        { expired: recorded.expired },
      );
      expect(r.failures).toHaveLength(1);
      const failure = r.failures[0]!;
      expect(failure.requestContext).toMatchObject({ condition: recorded.onFailure.condition, approximateInvokeCount: recorded.onFailure.approximateInvokeCount });
      expect('responseContext' in failure).toBe(recorded.responseContext);
      expect(failure.KinesisBatchInfo.batchSize).toBe(recorded.onFailure.batchSize);
      expect(failure.KinesisBatchInfo.startSequenceNumber).toBe(r.sequence[0]);
      expect(r.events.reduce((n, e) => n + e.Records.length, 0)).toBe(recorded.deliveredToFunction);
    }, 40_000);
  }
});
