/**
 * The records a pointer-only failure object names (a shard and a sequence
 * range, as Lambda sends to SQS), read back from the stream while it still
 * holds them.
 */
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamRecord } from 'aws-lambda';
import type { OnFailureRecord } from '../../local/failure-store.js';
import { padSequence } from '../../handlers/runtime/sequence.js';

/** The event records Lambda would have delivered for these stream records. */
function asEventRecord(info: OnFailureRecord['KinesisBatchInfo'], functionArn: string, r: { SequenceNumber?: string; PartitionKey?: string; Data?: Uint8Array; ApproximateArrivalTimestamp?: Date }): KinesisStreamRecord {
  const [, , , region = '', account = ''] = info.streamArn.split(':');
  const functionName = functionArn.split(':').pop() ?? '';
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: r.PartitionKey!,
      sequenceNumber: r.SequenceNumber!,
      data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
      approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${info.shardId}:${r.SequenceNumber!}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: `arn:aws:iam::${account}:role/${functionName}-processor`,
    awsRegion: region,
    eventSourceARN: info.streamArn,
  };
}

/**
 * The batch's records, or undefined when the stream no longer has all of them
 * (trimmed past its retention): those records are expired.
 */
export async function readSequenceRange(kinesis: KinesisClient, failure: OnFailureRecord): Promise<KinesisStreamRecord[] | undefined> {
  const info = failure.KinesisBatchInfo;
  const streamName = info.streamArn.split('/').pop()!;
  let iterator: string | undefined;
  try {
    const got = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: streamName, ShardId: info.shardId, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: info.startSequenceNumber }),
    );
    iterator = got.ShardIterator;
  } catch (error) {
    const name = (error as Error).name;
    // The shard or the record is gone (trimmed, or the stream re-created).
    if (name === 'ResourceNotFoundException' || name === 'InvalidArgumentException') return undefined;
    throw error;
  }
  const start = padSequence(info.startSequenceNumber);
  const end = padSequence(info.endSequenceNumber);
  const records: KinesisStreamRecord[] = [];
  let emptyReads = 0;
  // Every record of the range: with a ParallelizationFactor above 1 a batch holds only some partition keys of
  // its range, so the range may hold more records than the batch did; replaying the others changes nothing.
  while (iterator && emptyReads < 3) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    iterator = page.NextShardIterator;
    const got = page.Records ?? [];
    emptyReads = got.length === 0 ? emptyReads + 1 : 0;
    for (const r of got) {
      const seq = padSequence(r.SequenceNumber!);
      if (seq > end) return finish();
      if (seq >= start) records.push(asEventRecord(info, failure.requestContext.functionArn, r));
    }
  }
  return finish();

  function finish() {
    // A range the stream only partly holds is expired as a whole: redriving part of a batch out of order would be worse.
    const complete =
      records.length >= info.batchSize &&
      records[0]?.kinesis.sequenceNumber === info.startSequenceNumber &&
      records[records.length - 1]?.kinesis.sequenceNumber === info.endSequenceNumber;
    return complete ? records : undefined;
  }
}
