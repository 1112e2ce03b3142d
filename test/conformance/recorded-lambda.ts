/**
 * What real AWS Lambda did for Kinesis event source mappings, as recorded in
 * LocalStack's AWS-validated snapshots (see ./sources.ts). Written down here
 * as data: field names, their JSON types and formats, counts.
 */
import { SOURCES, type Source } from './sources.js';

type JsonType = 'string' | 'number' | 'object' | 'null';

/** One Kinesis record of a Lambda event: every field, its type, and the format of the ones that have one. */
export const KINESIS_EVENT_RECORD = {
  source: SOURCES.kinesisEvent,
  fields: {
    awsRegion: 'string',
    eventID: 'string',
    eventName: 'string',
    eventSource: 'string',
    eventSourceARN: 'string',
    eventVersion: 'string',
    invokeIdentityArn: 'string',
    kinesis: 'object',
  } satisfies Record<string, JsonType>,
  kinesisFields: {
    approximateArrivalTimestamp: 'number',
    data: 'string',
    kinesisSchemaVersion: 'string',
    partitionKey: 'string',
    sequenceNumber: 'string',
  } satisfies Record<string, JsonType>,
  constants: { eventName: 'aws:kinesis:record', eventSource: 'aws:kinesis', eventVersion: '1.0', kinesisSchemaVersion: '1.0' },
  /** `<shardId>:<sequenceNumber>` */
  eventIdFormat: /^shardId-\d{12}:\d+$/,
  /** The execution role of the function: `arn:<partition>:iam::<account>:role/<role name>`. */
  invokeIdentityArnFormat: /^arn:aws:iam::\d{12}:role\/.+$/,
  eventSourceArnFormat: /^arn:aws:kinesis:[a-z0-9-]+:\d{12}:stream\/.+$/,
} as const;

/** The on-failure destination record (SQS/SNS body) and its types. */
export const ON_FAILURE_RECORD = {
  source: SOURCES.onFailureUnhandled,
  topLevel: ['requestContext', 'responseContext', 'version', 'timestamp', 'KinesisBatchInfo'],
  requestContext: { requestId: 'string', functionArn: 'string', condition: 'string', approximateInvokeCount: 'number' } satisfies Record<string, JsonType>,
  responseContext: { statusCode: 'number', executedVersion: 'string' } satisfies Record<string, JsonType>,
  kinesisBatchInfo: {
    shardId: 'string',
    startSequenceNumber: 'string',
    endSequenceNumber: 'string',
    approximateArrivalOfFirstRecord: 'string',
    approximateArrivalOfLastRecord: 'string',
    batchSize: 'number',
    streamArn: 'string',
  } satisfies Record<string, JsonType>,
  version: '1.0',
  statusCode: 200,
  executedVersion: '$LATEST',
  /** ISO-8601 with milliseconds and Z, e.g. 2022-07-13T13:48:01.000Z. */
  timestampFormat: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
  functionArnFormat: /^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:.+$/,
} as const;

/**
 * An S3 on-failure destination stores the same record plus the invocation payload
 * (the event the function was invoked with), so failed records outlive the stream.
 */
export const S3_FAILURE_OBJECT = {
  source: SOURCES.s3Destination,
  topLevel: [...ON_FAILURE_RECORD.topLevel, 'payload'],
} as const;

/** A function answer and what the mapping did with it: one case per recorded run. */
export interface RecordedRun {
  readonly name: string;
  readonly source: Source;
  readonly mapping: { batchSize: number; maximumRetryAttempts: number; bisect: boolean };
  /** Records put onto the stream, in order. */
  readonly records: number;
  /** What the function does: return this value for every invocation, or throw (`'throw'`), or fail the listed records by position. */
  readonly answer: { returns: unknown } | 'throw' | { failsRecords: readonly number[] };
  /** Invocations the function got, in total. */
  readonly invocations: number;
  /** How many times each record (by position) was delivered. */
  readonly deliveriesPerRecord?: readonly number[];
  /** The one on-failure record, or none. */
  readonly onFailure?: {
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    approximateInvokeCount: number;
    /** `undefined` = no responseContext at all. */
    functionError?: 'Unhandled' | null;
    batchSize: number;
    /** Position of the first and last record of the discarded range. */
    range: readonly [number, number];
  };
}

const one = { batchSize: 1, maximumRetryAttempts: 2, bisect: false };
const malformed = (name: string, returns: unknown): RecordedRun => ({
  name: `malformed batch response: ${name}`,
  source: SOURCES.failureScenarios,
  mapping: one,
  records: 1,
  answer: { returns },
  invocations: 3,
  onFailure: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3, functionError: null, batchSize: 1, range: [0, 0] },
});
const success = (name: string, returns: unknown): RecordedRun => ({
  name: `success: ${name}`,
  source: SOURCES.successScenarios,
  mapping: one,
  records: 1,
  answer: { returns },
  invocations: 1,
});

export const RECORDED_RUNS: readonly RecordedRun[] = [
  {
    name: 'unhandled error, 1 retry',
    source: SOURCES.onFailureUnhandled,
    mapping: { batchSize: 1, maximumRetryAttempts: 1, bisect: false },
    records: 1,
    answer: 'throw',
    invocations: 2,
    onFailure: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 2, functionError: 'Unhandled', batchSize: 1, range: [0, 0] },
  },
  {
    name: 'unhandled error, 2 retries',
    source: SOURCES.failureScenarios,
    mapping: one,
    records: 1,
    answer: 'throw',
    invocations: 3,
    onFailure: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3, functionError: 'Unhandled', batchSize: 1, range: [0, 0] },
  },
  {
    // The partial response of the first 3-record batch moves the checkpoint: the last
    // record then gets 1 + 3 invocations of its own (4), after the one it shared.
    name: 'partial batch response moves the checkpoint, then retries exhaust',
    source: SOURCES.onFailurePartial,
    mapping: { batchSize: 3, maximumRetryAttempts: 3, bisect: false },
    records: 6,
    answer: { failsRecords: [5] },
    invocations: 6,
    deliveriesPerRecord: [1, 1, 1, 1, 1, 5],
    onFailure: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 4, functionError: null, batchSize: 1, range: [5, 5] },
  },
  malformed('itemIdentifier is a number', { batchItemFailures: [{ itemIdentifier: 123 }] }),
  malformed('itemIdentifier is ""', { batchItemFailures: [{ itemIdentifier: '' }] }),
  malformed('itemIdentifier is null', { batchItemFailures: [{ itemIdentifier: null }] }),
  malformed('no itemIdentifier key', { batchItemFailures: [{ foo: 123 }] }),
  malformed('no itemIdentifier key, null value', { batchItemFailures: [{ foo: null }] }),
  success('""', ''),
  success('[]', []),
  success('null', null),
  success('{}', {}),
  success('batchItemFailures []', { batchItemFailures: [] }),
  success('batchItemFailures null', { batchItemFailures: null }),
];

/** Records older than the mapping's maximum age before they were ever delivered. */
export const RECORDED_AGE_RUNS = [
  {
    name: 'the only record expired before the mapping read it',
    source: SOURCES.ageBeforeIngestion,
    mapping: { batchSize: 1, maximumRetryAttempts: 0 },
    expired: 1,
    fresh: 0,
    onFailure: { condition: 'RecordAgeExceeded', approximateInvokeCount: 1, batchSize: 1 },
    /** RecordAgeExceeded records have no responseContext. */
    responseContext: false,
    deliveredToFunction: 0,
  },
  {
    name: 'the first record of a batch expired, the next 5 did not',
    source: SOURCES.ageDiscard,
    mapping: { batchSize: 10, maximumRetryAttempts: 0 },
    expired: 1,
    fresh: 5,
    onFailure: { condition: 'RecordAgeExceeded', approximateInvokeCount: 1, batchSize: 1 },
    responseContext: false,
    deliveredToFunction: 5,
  },
] as const;

/**
 * Bisection: no public recording of the counts. The Lambda guide says splitting a
 * batch does not use up retry attempts, so each half starts with its own.
 * Local mode's counts follow from that rule; they are marked as derived, not recorded.
 */
export const DOCUMENTED_BISECT = {
  source: SOURCES.bisect,
  rule: 'splitting a failed batch does not consume the retry quota',
  /** 4 records, the 3rd always throws, 1 retry: halves [0,1] ok, [2,3] fails and splits, [2] fails 1 + 1 times. */
  mapping: { batchSize: 4, maximumRetryAttempts: 1, bisect: true },
  records: 4,
  poison: 2,
  onFailure: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 2, functionError: 'Unhandled', batchSize: 1, range: [2, 2] },
} as const;
