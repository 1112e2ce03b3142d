/**
 * An emulation of Lambda's Kinesis event source mapping, one poller per shard,
 * driven by the family's real `eventSource` settings: batch size, batching
 * window, starting position, checkpoints, partial batch responses
 * (ReportBatchItemFailures), bisect on function error, bounded retries with
 * backoff, maximum record age, and an on-failure destination laid out as
 * the S3 bucket Lambda writes (local/failure-store.ts): the failure record
 * with the failed records' payload.
 */
import { randomUUID } from 'node:crypto';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { FamilyDeployment } from '../modules/deployment.js';
import { CheckpointStore } from './checkpoints.js';
import { failureObjectKey, localMappingUuid, writeFailureObject, type FailureObject, type OnFailureRecord } from './failure-store.js';
import type { InvokeOutcome, Sandbox } from './invoker.js';

export interface BatchReport {
  readonly family: string;
  readonly shardId: string;
  readonly size: number;
  readonly outcome: 'ok' | 'partial' | 'error' | 'bisect' | 'dlq' | 'expired';
  readonly detail: string;
  readonly durationMs: number;
  /** On 'ok': when the batch's records were read and handed over, for latency breakdowns (bench part 2b). */
  readonly timing?: BatchTiming;
}

export interface BatchTiming {
  /** Each record of the batch and the epoch ms the poller read it from the shard. */
  readonly records: readonly { readonly sequenceNumber: string; readonly readAtMs: number }[];
  /** Epoch ms of the invocation that succeeded. */
  readonly invokedAtMs: number;
}

export interface PollerStats {
  invocations: number;
  succeededRecords: number;
  failedInvocations: number;
  dlqRecords: number;
}

export type { OnFailureRecord } from './failure-store.js';

export interface StreamPollerOptions {
  readonly family: FamilyDeployment;
  readonly region: string;
  readonly accountId: string;
  readonly kinesis: KinesisClient;
  readonly checkpoints: CheckpointStore;
  /** State folder holding the on-failure destination (`failures/<family>/aws/lambda/...`). */
  readonly stateDir: string;
  readonly sandbox: (shardId: string) => Sandbox;
  readonly onBatch?: (report: BatchReport) => void;
  /** Sees every event before it is handed to the function (fidelity tests). */
  readonly onEvent?: (event: KinesisStreamEvent) => void;
  /** Pause between empty reads of a shard. */
  readonly idlePollMs?: number;
}

interface Rec {
  readonly record: KinesisRecord;
  readonly arrivalMs: number;
  /** When the poller read it (the batching window runs from the first record read). */
  readonly readMs: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Lambda's backoff between retries of a failing batch, kept short locally. */
function backoffMs(retry: number): number {
  return Math.min(100 * 2 ** (retry - 1), 2000);
}

export class StreamPoller {
  readonly streamArn: string;
  readonly functionArn: string;
  /** The mapping's UUID: the first part of every failure object's key. */
  readonly mappingUuid: string;
  readonly stats: PollerStats = { invocations: 0, succeededRecords: 0, failedInvocations: 0, dlqRecords: 0 };
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly sandboxes: Sandbox[] = [];

  constructor(private readonly options: StreamPollerOptions) {
    this.streamArn = `arn:aws:kinesis:${options.region}:${options.accountId}:stream/${options.family.stream.name}`;
    this.functionArn = `arn:aws:lambda:${options.region}:${options.accountId}:function:${options.family.processor.functionName}`;
    this.mappingUuid = localMappingUuid(this.functionArn, this.streamArn);
  }

  async start(): Promise<string[]> {
    const shards = await this.options.kinesis.send(new ListShardsCommand({ StreamName: this.options.family.stream.name }));
    const shardIds = (shards.Shards ?? []).map((s) => s.ShardId!).filter(Boolean);
    for (const shardId of shardIds) {
      const sandbox = this.options.sandbox(shardId);
      this.sandboxes.push(sandbox);
      const poller = new ShardPoller(this, this.options, shardId, sandbox, this.abort.signal);
      // The first iterator is taken before start() returns, so a LATEST mapping sees everything sent after "ready".
      await poller.init();
      this.loops.push(poller.run());
    }
    return shardIds;
  }

  /** Stops reading; an invocation in flight is given `graceMs`, then abandoned uncheckpointed (it will be redelivered). */
  async stop(graceMs = 1000): Promise<void> {
    this.abort.abort();
    await Promise.race([Promise.allSettled(this.loops), new Promise((r) => setTimeout(r, graceMs))]);
    await Promise.all(this.sandboxes.map((s) => s.close()));
  }
}

class ShardPoller {
  private iterator: string | undefined;
  private readonly key: string;
  private readonly es;

  constructor(
    private readonly parent: StreamPoller,
    private readonly options: StreamPollerOptions,
    private readonly shardId: string,
    private readonly sandbox: Sandbox,
    private readonly signal: AbortSignal,
  ) {
    this.key = CheckpointStore.key(options.family.stream.name, shardId);
    this.es = options.family.eventSource;
  }

  async init(): Promise<void> {
    this.iterator = await this.freshIterator();
  }

  private async freshIterator(): Promise<string | undefined> {
    const stream = this.options.family.stream.name;
    const checkpoint = this.options.checkpoints.get(this.key);
    const base = { StreamName: stream, ShardId: this.shardId };
    if (checkpoint?.sequenceNumber) {
      try {
        const result = await this.options.kinesis.send(
          new GetShardIteratorCommand({ ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: checkpoint.sequenceNumber }),
        );
        return result.ShardIterator;
      } catch (error) {
        const name = (error as Error).name;
        if (name !== 'ResourceNotFoundException' && name !== 'InvalidArgumentException') throw error;
        // The stream no longer has the checkpointed record (its data was lost or re-created):
        // the checkpoint means nothing, so start over from the mapping's starting position.
        this.options.onBatch?.({
          family: this.options.family.family.name,
          shardId: this.shardId,
          size: 0,
          outcome: 'error',
          detail: `checkpoint ${checkpoint.sequenceNumber} is not in the stream any more; starting from ${this.es.startingPosition}`,
          durationMs: 0,
        });
        this.options.checkpoints.reset(this.key, {});
      }
    }
    const startedAt = this.options.checkpoints.get(this.key)?.startedAt;
    let input;
    if (this.es.startingPosition === 'TRIM_HORIZON') {
      input = { ...base, ShardIteratorType: 'TRIM_HORIZON' as const };
    } else if (startedAt !== undefined) {
      input = { ...base, ShardIteratorType: 'AT_TIMESTAMP' as const, Timestamp: new Date(startedAt) };
    } else {
      this.options.checkpoints.set(this.key, { startedAt: Date.now() });
      input = { ...base, ShardIteratorType: 'LATEST' as const };
    }
    const result = await this.options.kinesis.send(new GetShardIteratorCommand(input));
    return result.ShardIterator;
  }

  async run(): Promise<void> {
    const idle = this.options.idlePollMs ?? 250;
    while (!this.signal.aborted) {
      try {
        this.iterator ??= await this.freshIterator();
        if (this.iterator === undefined) return; // closed shard, fully read
        const batch = await this.gather();
        if (batch.length === 0) {
          await sleep(idle, this.signal);
          continue;
        }
        const done = await this.process(batch);
        if (!done) this.iterator = undefined; // abandoned mid-way: re-read from the checkpoint
      } catch (error) {
        if (this.signal.aborted) return;
        // Expired iterators, engine hiccups: start again from the last checkpoint, as a new lease holder would.
        this.iterator = undefined;
        this.options.onBatch?.({ family: this.options.family.family.name, shardId: this.shardId, size: 0, outcome: 'error', detail: `read failed: ${String(error)}`, durationMs: 0 });
        await sleep(1000, this.signal);
      }
    }
  }

  /** Reads until a full batch, the end of the batching window, or nothing to read. */
  private async gather(): Promise<Rec[]> {
    const records: Rec[] = [];
    const windowMs = this.es.maximumBatchingWindowInSeconds * 1000;
    let windowEnd: number | undefined;
    for (;;) {
      const result = await this.options.kinesis.send(
        new GetRecordsCommand({ ShardIterator: this.iterator, Limit: Math.min(10_000, this.es.batchSize - records.length) }),
      );
      this.iterator = result.NextShardIterator;
      const readMs = Date.now();
      for (const record of result.Records ?? []) {
        records.push({ record, arrivalMs: record.ApproximateArrivalTimestamp?.getTime() ?? readMs, readMs });
      }
      if (records.length === 0) return records;
      if (records.length >= this.es.batchSize || this.iterator === undefined) return records;
      windowEnd ??= Date.now() + windowMs;
      const left = windowEnd - Date.now();
      if (left <= 0 || this.signal.aborted) return records;
      await sleep(Math.min(left, this.options.idlePollMs ?? 250), this.signal);
    }
  }

  private event(batch: readonly Rec[]): KinesisStreamEvent {
    const { region, accountId, family } = this.options;
    const Records: KinesisStreamRecord[] = batch.map(({ record, arrivalMs }) => ({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: record.PartitionKey!,
        sequenceNumber: record.SequenceNumber!,
        data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
        approximateArrivalTimestamp: arrivalMs / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${this.shardId}:${record.SequenceNumber!}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: `arn:aws:iam::${accountId}:role/${family.processor.roleName ?? family.processor.functionName}`,
      awsRegion: region,
      eventSourceARN: this.parent.streamArn,
    }));
    return { Records };
  }

  private checkpoint(rec: Rec): void {
    this.options.checkpoints.set(this.key, { sequenceNumber: rec.record.SequenceNumber! });
  }

  private report(size: number, outcome: BatchReport['outcome'], detail: string, started: number, timing?: BatchTiming): void {
    this.options.onBatch?.({ family: this.options.family.family.name, shardId: this.shardId, size, outcome, detail, durationMs: Date.now() - started, ...(timing ? { timing } : {}) });
  }

  /**
   * Classifies the function's answer. Lambda treats a null/empty response or
   * an empty/null `batchItemFailures` as complete success, and any malformed
   * entry (missing, empty or unknown `itemIdentifier`) as complete failure.
   */
  private failures(outcome: InvokeOutcome, batch: readonly Rec[]): { kind: 'ok' } | { kind: 'error'; reason: string } | { kind: 'partial'; from: number; count: number } {
    if (outcome.error) return { kind: 'error', reason: `${outcome.error.errorType}: ${outcome.error.errorMessage}` };
    const result = outcome.result as { batchItemFailures?: unknown } | null | undefined;
    if (result === null || result === undefined || typeof result !== 'object') return { kind: 'ok' };
    const list = result.batchItemFailures;
    if (list === null || list === undefined) return { kind: 'ok' };
    if (!Array.isArray(list)) return { kind: 'error', reason: 'malformed batch response: batchItemFailures is not a list' };
    if (list.length === 0) return { kind: 'ok' };
    let lowest = Number.POSITIVE_INFINITY;
    for (const item of list as Array<{ itemIdentifier?: unknown } | null>) {
      const id = item?.itemIdentifier;
      const index = typeof id === 'string' && id !== '' ? batch.findIndex((r) => r.record.SequenceNumber === id) : -1;
      if (index < 0) return { kind: 'error', reason: `malformed batch response: itemIdentifier ${JSON.stringify(id)} is not a sequence number of this batch` };
      lowest = Math.min(lowest, index);
    }
    return { kind: 'partial', from: lowest, count: list.length };
  }

  private sendToDestination(batch: readonly Rec[], condition: OnFailureRecord['requestContext']['condition'], invokeCount: number, last?: InvokeOutcome): void {
    const first = batch[0]!;
    const end = batch[batch.length - 1]!;
    const record: OnFailureRecord = {
      requestContext: {
        requestId: last?.requestId ?? randomUUID(),
        functionArn: this.parent.functionArn,
        condition,
        // A record that expired before it was ever delivered still counts 1 (recorded against AWS, see test/conformance).
        approximateInvokeCount: condition === 'RecordAgeExceeded' ? Math.max(1, invokeCount) : invokeCount,
      },
      ...(condition === 'RecordAgeExceeded'
        ? {}
        : { responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: last?.error ? 'Unhandled' : null } }),
      version: '1.0',
      timestamp: new Date().toISOString(),
      KinesisBatchInfo: {
        shardId: this.shardId,
        startSequenceNumber: first.record.SequenceNumber!,
        endSequenceNumber: end.record.SequenceNumber!,
        approximateArrivalOfFirstRecord: new Date(first.arrivalMs).toISOString(),
        approximateArrivalOfLastRecord: new Date(end.arrivalMs).toISOString(),
        batchSize: batch.length,
        streamArn: this.parent.streamArn,
      },
    };
    // As Lambda's S3 destination: the pointer and, in `payload`, the event the function was invoked with.
    const body: FailureObject = { ...record, payload: this.event(batch) };
    const failedAt = new Date(record.timestamp);
    writeFailureObject(this.options.stateDir, this.options.family.family.name, failureObjectKey(this.parent.mappingUuid, this.shardId, failedAt), body);
    this.parent.stats.dlqRecords += batch.length;
  }

  /** Processes one batch to its end (done or discarded). Returns false if stopped part-way. */
  private async process(batch: Rec[]): Promise<boolean> {
    const maxRetries = this.es.maximumRetryAttempts;
    const maxAgeMs = this.es.maximumRecordAgeInSeconds * 1000;
    // Halves of a bisected batch are processed in order, first half first, so order per shard holds.
    const queue: Rec[][] = [batch];
    while (queue.length > 0) {
      let pending = queue.shift()!;
      let retries = 0;
      let invokes = 0;
      while (pending.length > 0) {
        const started = Date.now();
        if (maxAgeMs >= 0) {
          const cutoff = Date.now() - maxAgeMs;
          const expired = pending.filter((r) => r.arrivalMs < cutoff);
          if (expired.length > 0) {
            // Arrival times grow along a shard, so the expired records are a prefix.
            this.sendToDestination(expired, 'RecordAgeExceeded', invokes);
            this.checkpoint(expired[expired.length - 1]!);
            pending = pending.slice(expired.length);
            this.report(expired.length, 'expired', `older than ${this.es.maximumRecordAgeInSeconds} s: sent to the on-failure destination`, started);
            continue;
          }
        }
        if (this.signal.aborted) return false;
        const event = this.event(pending);
        this.options.onEvent?.(event);
        const outcome = await this.sandbox.invoke(event);
        // Stopped mid-invocation: the sandbox was torn down on purpose; the batch is redelivered next start.
        if (this.signal.aborted) return false;
        invokes++;
        this.parent.stats.invocations++;
        const verdict = this.failures(outcome, pending);
        if (verdict.kind === 'ok') {
          this.checkpoint(pending[pending.length - 1]!);
          this.parent.stats.succeededRecords += pending.length;
          this.report(pending.length, 'ok', `${outcome.durationMs} ms`, started, {
            records: pending.map((r) => ({ sequenceNumber: r.record.SequenceNumber!, readAtMs: r.readMs })),
            invokedAtMs: started,
          });
          pending = [];
          break;
        }
        if (verdict.kind === 'partial') {
          this.parent.stats.succeededRecords += verdict.from;
          this.report(pending.length, 'partial', `${verdict.count} reported failed; retrying from record ${verdict.from + 1}`, started);
          if (verdict.from > 0) {
            // Everything before the lowest failed record is done: checkpoint there. The rest is a new
            // batch to Lambda: its attempts start again, 1 + maximumRetryAttempts of them (recorded
            // against AWS: approximateInvokeCount 4 with 3 retries, see test/conformance).
            this.checkpoint(pending[verdict.from - 1]!);
            pending = pending.slice(verdict.from);
            retries = 0;
            invokes = 0;
            await sleep(backoffMs(1), this.signal);
            continue;
          }
        } else {
          this.parent.stats.failedInvocations++;
          if (this.es.bisectBatchOnFunctionError && pending.length > 1) {
            const half = Math.ceil(pending.length / 2);
            queue.unshift(pending.slice(0, half), pending.slice(half));
            this.report(pending.length, 'bisect', `${verdict.reason}; split into ${half} + ${pending.length - half}`, started);
            pending = [];
            break;
          }
          this.report(pending.length, 'error', verdict.reason, started);
        }
        if (maxRetries >= 0 && retries >= maxRetries) {
          this.sendToDestination(pending, 'RetryAttemptsExhausted', invokes, outcome);
          this.checkpoint(pending[pending.length - 1]!);
          this.report(pending.length, 'dlq', `retries exhausted after ${invokes} invocations: sent to the on-failure destination`, started);
          pending = [];
          break;
        }
        retries++;
        await sleep(backoffMs(retries), this.signal);
      }
    }
    return true;
  }
}
