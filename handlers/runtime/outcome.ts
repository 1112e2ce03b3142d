import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Decoded } from './records.js';

/**
 * Each record's outcome (failed from its shard's first failure on, malformed,
 * an idempotency conflict, or processed, a client retry counting as processed),
 * as metrics and one log line.
 * `failed` holds the sequence numbers the partial batch response reports.
 */
export function reportOutcome(
  decoded: readonly Decoded[],
  failFrom: ReadonlyMap<string, string>,
  published: number,
  writes: number,
  { logger, metrics }: { logger: Logger; metrics: Metrics },
) {
  const failed = new Set<string>();
  let processed = 0;
  let malformed = 0;
  let duplicates = 0;
  let conflicts = 0;
  for (const d of decoded) {
    const from = failFrom.get(d.shardId);
    if (from !== undefined && d.seq >= from) failed.add(d.record.kinesis.sequenceNumber);
    else if (d.kind === 'malformed' && d.reason === 'idempotency_conflict') {
      conflicts++;
      logger.warn('idempotency conflict', { issues: d.issues, sequenceNumber: d.record.kinesis.sequenceNumber, partitionKey: d.record.kinesis.partitionKey });
    } else if (d.kind === 'malformed') {
      malformed++;
      logger.warn('malformed record', { reason: d.reason, issues: d.issues, sequenceNumber: d.record.kinesis.sequenceNumber, partitionKey: d.record.kinesis.partitionKey });
    } else {
      processed++;
      if (d.duplicate) duplicates++;
    }
  }
  metrics.addMetric('ProcessedEvents', MetricUnit.Count, processed);
  metrics.addMetric('FailedEvents', MetricUnit.Count, failed.size);
  metrics.addMetric('MalformedEvents', MetricUnit.Count, malformed);
  metrics.addMetric('DuplicateEvents', MetricUnit.Count, duplicates);
  metrics.addMetric('IdempotencyConflicts', MetricUnit.Count, conflicts);
  metrics.addMetric('AlertsPublished', MetricUnit.Count, published);
  logger.info('batch processed', { records: decoded.length, processed, failed: failed.size, malformed, duplicates, conflicts, alertsPublished: published, itemWrites: writes });
  return { failed, processed, malformed, duplicates, conflicts, published };
}
