/**
 * Local mode's on-failure destination, laid out as the S3 bucket Lambda writes
 * on AWS: one folder per family (one bucket per family), one file per
 * discarded batch at the very key Lambda uses, holding the very body (the
 * failure record plus the invocation payload). Redrive, the soak's
 * reconciliation and people read both the same way.
 *
 * Key layout, from "Retain discarded batch records for a Kinesis Data Streams
 * event source in Lambda"
 * (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html):
 * `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>`.
 * Body: the fields Lambda sends to SQS (`requestContext`, `responseContext`,
 * `version`, `timestamp`, `KinesisBatchInfo`) and `payload`, the event the
 * function was invoked with (`{ Records: [...] }`), as LocalStack records it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

/** What Lambda sends to an SQS or SNS destination: a pointer (shard and sequence range), no records. */
export interface OnFailureRecord {
  requestContext: { requestId: string; functionArn: string; condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded'; approximateInvokeCount: number };
  /** Absent for RecordAgeExceeded; `functionError` is null when the function returned (a malformed or partial batch response). */
  responseContext?: { statusCode: number; executedVersion: string; functionError: 'Unhandled' | null };
  version: '1.0';
  timestamp: string;
  KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

/** What redrive adds when a record it retried still fails: the object stays, with the new reason. */
export interface RedriveNote {
  attempts: number;
  lastAttemptAt: string;
  reason: string;
}

/**
 * What Lambda writes to an S3 destination: the pointer plus the payload. The
 * payload is optional here because records that reached a pointer-only
 * destination (SQS) have none; AWS documents it as the whole event, which may
 * come as an object or as its JSON text.
 */
export interface FailureObject extends OnFailureRecord {
  payload?: KinesisStreamEvent | string;
  redrive?: RedriveNote;
}

export interface StoredFailure {
  readonly family: string;
  /** The object key, relative to the family's bucket (or folder). */
  readonly key: string;
  readonly body: FailureObject;
}

export const FAILURE_KEY_PREFIX = 'aws/lambda/';

const two = (n: number) => String(n).padStart(2, '0');

/** `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>`, in UTC. */
export function failureObjectKey(mappingUuid: string, shardId: string, at: Date, unique: string = randomUUID()): string {
  const day = `${at.getUTCFullYear()}/${two(at.getUTCMonth() + 1)}/${two(at.getUTCDate())}`;
  const stamp = `${day.replace(/\//g, '-')}T${two(at.getUTCHours())}.${two(at.getUTCMinutes())}.${two(at.getUTCSeconds())}`;
  return `${FAILURE_KEY_PREFIX}${mappingUuid}/${shardId}/${day}/${stamp}-${unique}`;
}

/** A mapping's UUID, stable across restarts: local mode has no Lambda to assign one. */
export function localMappingUuid(functionArn: string, streamArn: string): string {
  const h = createHash('sha256').update(`${functionArn}\n${streamArn}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The folder standing for a family's failure bucket. */
export function failureFolder(stateDir: string, family: string): string {
  return join(stateDir, 'failures', family);
}

export function writeFailureObject(stateDir: string, family: string, key: string, body: FailureObject): void {
  const file = join(failureFolder(stateDir, family), ...key.split('/'));
  mkdirSync(dirname(file), { recursive: true });
  // Whole or not at all, as an S3 PUT: a reader never sees half an object.
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, JSON.stringify(body));
  renameSync(partial, file);
}

export function removeFailureObject(stateDir: string, family: string, key: string): void {
  rmSync(join(failureFolder(stateDir, family), ...key.split('/')), { force: true });
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : entry.name.endsWith('.partial') ? [] : [path];
  });
}

/** Every failure object of one family, or of all, in key order (which is time order per mapping and shard). */
export function readFailureRecords(stateDir: string, family?: string): StoredFailure[] {
  const root = join(stateDir, 'failures');
  const families = family !== undefined ? [family] : existsSync(root) ? readdirSync(root).sort() : [];
  return families.flatMap((name) => {
    const folder = failureFolder(stateDir, name);
    return walk(folder)
      .map((file) => ({ family: name, key: relative(folder, file).split(sep).join('/'), body: JSON.parse(readFileSync(file, 'utf8')) as FailureObject }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  });
}

/** The failed records an object holds, or undefined when it is a pointer only (no payload). */
export function payloadRecords(body: Pick<FailureObject, 'payload'>): KinesisStreamRecord[] | undefined {
  const payload = typeof body.payload === 'string' ? (JSON.parse(body.payload) as KinesisStreamEvent) : body.payload;
  return payload?.Records;
}
