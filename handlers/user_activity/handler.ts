import type { KinesisStreamEvent, KinesisStreamBatchResponse } from 'aws-lambda';
import { userActivity } from './family.js';

// First cut: validates records and acknowledges the batch; the real processor follows.
export const handler = async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
  for (const record of event.Records) {
    try {
      const envelope = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8'));
      userActivity.schema.safeParse(envelope.data);
    } catch {
      // malformed: handled by the real runtime
    }
  }
  return { batchItemFailures: [] };
};
