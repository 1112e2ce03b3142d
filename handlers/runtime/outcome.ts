import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Decoded } from './records.js';

export interface Outcome {
  /** Sequence numbers the partial batch response reports. */
  failed: Set<string>;
  processed: number;
  malformed: number;
  duplicates: number;
  conflicts: number;
  published: number;
  writes: number;
}

export const emptyOutcome = (): Outcome => ({ failed: new Set(), processed: 0, malformed: 0, duplicates: 0, conflicts: 0, published: 0, writes: 0 });

/**
 * Each record's outcome (failed from its shard's first failure on, malformed,
 * an idempotency conflict, or processed, a client retry counting as processed),
 * added to `into`; malformed records and conflicts are logged.
 */
export function addOutcome(into: Outcome, decoded: readonly Decoded[], failFrom: ReadonlyMap<string, string>, published: number, writes: number, logger: Logger): Outcome {
  for (const d of decoded) {
    const from = failFrom.get(d.shardId);
    if (from !== undefined && d.seq >= from) into.failed.add(d.record.kinesis.sequenceNumber);
    else if (d.kind === 'malformed' && d.reason === 'idempotency_conflict') {
      into.conflicts++;
      logger.warn('idempotency conflict', { issues: d.issues, sequenceNumber: d.record.kinesis.sequenceNumber, partitionKey: d.record.kinesis.partitionKey });
    } else if (d.kind === 'malformed') {
      into.malformed++;
      logger.warn('malformed record', { reason: d.reason, issues: d.issues, sequenceNumber: d.record.kinesis.sequenceNumber, partitionKey: d.record.kinesis.partitionKey });
    } else {
      into.processed++;
      if (d.duplicate) into.duplicates++;
    }
  }
  into.published += published;
  into.writes += writes;
  return into;
}

/** The batch's outcome as metrics and one log line. */
export function reportOutcome(outcome: Outcome, records: number, { logger, metrics }: { logger: Logger; metrics: Metrics }): Outcome {
  const { failed, processed, malformed, duplicates, conflicts, published, writes } = outcome;
  metrics.addMetric('ProcessedEvents', MetricUnit.Count, processed);
  metrics.addMetric('FailedEvents', MetricUnit.Count, failed.size);
  metrics.addMetric('MalformedEvents', MetricUnit.Count, malformed);
  metrics.addMetric('DuplicateEvents', MetricUnit.Count, duplicates);
  metrics.addMetric('IdempotencyConflicts', MetricUnit.Count, conflicts);
  metrics.addMetric('AlertsPublished', MetricUnit.Count, published);
  logger.info('batch processed', { records, processed, failed: failed.size, malformed, duplicates, conflicts, alertsPublished: published, itemWrites: writes });
  return outcome;
}
