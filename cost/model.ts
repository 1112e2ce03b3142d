/**
 * The monthly cost of one environment at a steady event rate, by service,
 * for the single route (`POST /events/<family>`) and the batch route
 * (`/events/<family>/batch`, `batch` events per request). Pure arithmetic over
 * the environment's settings (modules/environments.ts), the price table
 * (cost/prices.ts), the measured DynamoDB units (cost/measured.json) and the
 * stated inputs (cost/inputs.ts). Events are spread evenly over the families.
 */
import type { EnvironmentConfig } from '../modules/environments.js';
import {
  ACCESS_LOG_BYTES_PER_REQUEST,
  ALARM_METRICS_PER_FAMILY,
  ALERT_DELIVERY_ALARM_METRICS,
  API_ALARM_METRICS,
  ARCHIVE_COMPRESSION_RATIO,
  CLAIM_ITEM_BYTES,
  CLAIM_RETENTION_DAYS,
  EMF_METRICS_PER_FAMILY,
  HOURS_PER_MONTH,
  LOG_BYTES_PER_INVOCATION,
  MEASURED_PROCESSOR_THROUGHPUT,
  SECONDS_PER_MONTH,
  SHARD_BYTES_PER_SECOND,
  SHARD_LEVEL_METRICS,
  SHARD_RECORDS_PER_SECOND,
  XRAY_FIXED_RATE,
  XRAY_RESERVOIR_PER_SECOND,
} from './inputs.js';
import { PRICES, tiered, type Prices } from './prices.js';

export interface FamilyUnits {
  readonly readUnitsPerEvent: number;
  readonly writeUnitsPerEvent: number;
  readonly requestsPerEvent: number;
  readonly alertsPerEvent: number;
  readonly requests: Readonly<Record<string, number>>;
}

/** cost/measured.json: per batch size (records per invocation), per family. */
export interface MeasuredUnits {
  readonly measuredAt: string;
  readonly events: number;
  readonly shards: number;
  readonly seed: number;
  readonly byBatchSize: Readonly<Record<string, Readonly<Record<string, FamilyUnits>>>>;
}

export interface Workload {
  readonly eventsPerSecond: number;
  /** Events per request on the batch route. */
  readonly batch: number;
  /** Bytes of one event body (JSON). */
  readonly eventBytes: number;
  /** Bytes the envelope adds around the body. */
  readonly envelopeBytes: number;
}

export type Service =
  | 'API Gateway'
  | 'Kinesis'
  | 'Lambda'
  | 'DynamoDB'
  | 'EventBridge'
  | 'SNS'
  | 'SQS'
  | 'CloudWatch'
  | 'Firehose + S3'
  | 'KMS'
  | 'X-Ray';

export interface Line {
  readonly service: Service;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly cost: number;
}

export interface Estimate {
  readonly environment: string;
  readonly families: readonly string[];
  readonly workload: Workload;
  readonly route: 'single' | 'batch';
  readonly lines: readonly Line[];
  readonly total: number;
  readonly byService: ReadonlyMap<Service, number>;
  readonly warnings: readonly string[];
}

/** Invocations per second of one shard lane: a full batch, or whatever the window collected, or one per record. */
export function invocationsPerSecond(recordsPerSecond: number, batchSize: number, windowSeconds: number): number {
  if (recordsPerSecond <= 0) return 0;
  // With no window Lambda still polls a shard about once a second.
  const window = windowSeconds > 0 ? windowSeconds : 1;
  if (recordsPerSecond * window >= batchSize) return recordsPerSecond / batchSize;
  return Math.min(recordsPerSecond, 1 / window);
}

/** Milliseconds per invocation, the line through the measured throughput points. */
export function processorMs(records: number, points: ReadonlyArray<{ records: number; recordsPerSecond: number }> = MEASURED_PROCESSOR_THROUGHPUT): number {
  const [a, b] = [points[0]!, points[points.length - 1]!];
  const msA = (a.records / a.recordsPerSecond) * 1000;
  const msB = (b.records / b.recordsPerSecond) * 1000;
  const perRecord = (msB - msA) / (b.records - a.records);
  return Math.max(0, msA - perRecord * a.records) + perRecord * records;
}

/** Units per event at `records` per invocation, interpolated (in log of the batch size) between measured batch sizes. */
export function unitsAt(measured: MeasuredUnits, family: string, records: number): FamilyUnits {
  const sizes = Object.keys(measured.byBatchSize).map(Number).sort((x, y) => x - y);
  const at = (size: number) => {
    const units = measured.byBatchSize[String(size)]?.[family];
    if (!units) throw new Error(`no measured DynamoDB units for ${family} at batch ${size}: run npm run cost -- --measure`);
    return units;
  };
  if (records <= sizes[0]!) return at(sizes[0]!);
  if (records >= sizes[sizes.length - 1]!) return at(sizes[sizes.length - 1]!);
  const upper = sizes.findIndex((s) => s >= records);
  const [lo, hi] = [sizes[upper - 1]!, sizes[upper]!];
  const t = (Math.log(records) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
  const mix = (key: 'readUnitsPerEvent' | 'writeUnitsPerEvent' | 'requestsPerEvent' | 'alertsPerEvent') => at(lo)[key] + t * (at(hi)[key] - at(lo)[key]);
  return {
    readUnitsPerEvent: mix('readUnitsPerEvent'),
    writeUnitsPerEvent: mix('writeUnitsPerEvent'),
    requestsPerEvent: mix('requestsPerEvent'),
    alertsPerEvent: mix('alertsPerEvent'),
    requests: {},
  };
}

/** X-Ray traces per second of one traced service receiving `rate` requests per second. */
export function tracesPerSecond(rate: number): number {
  return Math.min(rate, XRAY_RESERVOIR_PER_SECOND) + XRAY_FIXED_RATE * Math.max(0, rate - XRAY_RESERVOIR_PER_SECOND);
}

const GB = 1024 ** 3;

export function estimate(
  env: EnvironmentConfig,
  families: readonly string[],
  workload: Workload,
  route: 'single' | 'batch',
  measured: MeasuredUnits,
  prices: Prices = PRICES,
): Estimate {
  const lines: Line[] = [];
  const warnings: string[] = [];
  const add = (service: Service, item: string, quantity: number, unit: string, cost: number) => lines.push({ service, item, quantity, unit, cost });
  const month = SECONDS_PER_MONTH;
  const events = workload.eventsPerSecond * month;
  const perFamilyRate = workload.eventsPerSecond / families.length;
  const recordBytes = workload.eventBytes + workload.envelopeBytes;
  const stream = env.stream;
  const shards = stream.mode === 'ON_DEMAND' ? 4 : stream.shardCount;

  // API Gateway: one request per event, or per batch.
  const requests = route === 'single' ? events : events / workload.batch;
  add('API Gateway', 'REST API requests', requests, 'requests', tiered(requests, prices.apiGateway.restRequests));

  // Kinesis.
  if (stream.mode === 'PROVISIONED') {
    const shardHours = families.length * shards * HOURS_PER_MONTH;
    add('Kinesis', 'shard-hours', shardHours, 'shard-hours', shardHours * prices.kinesis.shardHour);
    const units = events * Math.ceil(recordBytes / prices.kinesis.putPayloadUnitBytes);
    add('Kinesis', 'PUT payload units (25 KB)', units, 'units', units * prices.kinesis.putPayloadUnit);
    if (stream.retentionHours > 24) add('Kinesis', `extended retention (${stream.retentionHours} h)`, shardHours, 'shard-hours', shardHours * prices.kinesis.extendedRetentionShardHour);
    const perShard = perFamilyRate / shards;
    if (perShard > SHARD_RECORDS_PER_SECOND || perShard * recordBytes > SHARD_BYTES_PER_SECOND) {
      const needed = Math.ceil(Math.max(perFamilyRate / SHARD_RECORDS_PER_SECOND, (perFamilyRate * recordBytes) / SHARD_BYTES_PER_SECOND));
      warnings.push(`${env.name}: ${perFamilyRate.toFixed(0)} events/s per family exceed ${shards} shard(s) per stream (1,000 records/s or 1 MiB/s each): writes would be throttled; ${needed} shards are needed, so shard-hours would be ${(needed / shards).toFixed(1)}× these`);
    }
  } else {
    const streamHours = families.length * HOURS_PER_MONTH;
    add('Kinesis', 'on-demand stream-hours', streamHours, 'stream-hours', streamHours * prices.kinesis.onDemandStreamHour);
    const inGb = (events * Math.ceil(recordBytes / 1024) * 1024) / GB;
    add('Kinesis', 'on-demand data in (1 KB rounding)', inGb, 'GB', inGb * prices.kinesis.onDemandIngestGb);
    const consumers = 1 + (env.archive ? 1 : 0);
    const outGb = (consumers * events * recordBytes) / GB;
    add('Kinesis', `on-demand data out (${consumers} consumer(s))`, outGb, 'GB', outGb * prices.kinesis.onDemandRetrievalGb);
  }

  // Lambda: invocations per shard lane from batch size and window; time per invocation from the measured throughput.
  const lanes = shards * env.eventSource.parallelizationFactor;
  const laneRate = perFamilyRate / lanes;
  const invocationsPerFamily = lanes * invocationsPerSecond(laneRate, env.eventSource.batchSize, env.eventSource.maximumBatchingWindowInSeconds);
  const recordsPerInvocation = invocationsPerFamily > 0 ? perFamilyRate / invocationsPerFamily : 0;
  const invocations = invocationsPerFamily * families.length * month;
  add('Lambda', `invocations (${recordsPerInvocation.toFixed(1)} records each)`, invocations, 'requests', invocations * prices.lambda.request);
  const gbSeconds = invocations * (processorMs(recordsPerInvocation) / 1000) * (env.processor.memorySize / 1024);
  add('Lambda', `compute (${env.processor.memorySize} MB, arm64, ${processorMs(recordsPerInvocation).toFixed(0)} ms each)`, gbSeconds, 'GB-s', gbSeconds * prices.lambda.armGbSecond);

  // DynamoDB: measured units per event at this many records per invocation; claims kept for a week.
  let readUnits = 0;
  let writeUnits = 0;
  let alerts = 0;
  for (const family of families) {
    const units = unitsAt(measured, family, Math.max(1, recordsPerInvocation));
    readUnits += perFamilyRate * month * units.readUnitsPerEvent;
    writeUnits += perFamilyRate * month * units.writeUnitsPerEvent;
    alerts += perFamilyRate * month * units.alertsPerEvent;
  }
  add('DynamoDB', 'write request units (measured per event)', writeUnits, 'WRU', writeUnits * prices.dynamodb.writeRequestUnit);
  add('DynamoDB', 'read request units (measured per event)', readUnits, 'RRU', readUnits * prices.dynamodb.readRequestUnit);
  const claimGb = (workload.eventsPerSecond * CLAIM_RETENTION_DAYS * 86_400 * CLAIM_ITEM_BYTES) / GB;
  add('DynamoDB', `storage + PITR of ${CLAIM_RETENTION_DAYS} days of claims`, claimGb, 'GB-month', claimGb * (prices.dynamodb.storageGbMonth + prices.dynamodb.pitrGbMonth));

  // Alerts: PutEvents entries (measured per event), each forwarded to the alerts topic by the rule.
  add('EventBridge', 'custom events (alerts, measured per event)', alerts, 'events', alerts * prices.eventbridge.customEvent);
  add('SNS', 'publishes (alerts forwarded by the rule)', alerts, 'publishes', alerts * prices.sns.publish);
  add('SQS', 'dead-letter messages (none while nothing fails)', 0, 'requests', 0);

  // CloudWatch.
  const metrics = families.length * (EMF_METRICS_PER_FAMILY + (stream.shardLevelMetrics ? SHARD_LEVEL_METRICS * shards : 0));
  add('CloudWatch', stream.shardLevelMetrics ? 'custom metrics (EMF + shard-level)' : 'custom metrics (EMF)', metrics, 'metrics', metrics * prices.cloudwatch.metricMonth);
  const alarmMetrics = families.length * ALARM_METRICS_PER_FAMILY + API_ALARM_METRICS + ALERT_DELIVERY_ALARM_METRICS;
  add('CloudWatch', 'alarms (per metric evaluated)', alarmMetrics, 'alarm metrics', alarmMetrics * prices.cloudwatch.alarmMetricMonth);
  add('CloudWatch', 'dashboard', 1, 'dashboards', prices.cloudwatch.dashboardMonth);
  const logsGb = (invocations * LOG_BYTES_PER_INVOCATION + requests * ACCESS_LOG_BYTES_PER_REQUEST) / GB;
  add('CloudWatch', 'logs ingested (processors + API access logs)', logsGb, 'GB', logsGb * prices.cloudwatch.logsIngestGb);

  // Archive: Firehose from each stream to S3, gzip.
  if (env.archive) {
    const firehoseGb = (events * Math.ceil(recordBytes / prices.firehose.recordRoundingBytes) * prices.firehose.recordRoundingBytes) / GB;
    add('Firehose + S3', 'Firehose ingestion (5 KB rounding)', firehoseGb, 'GB', firehoseGb * prices.firehose.ingestGb);
    // One object per stream per buffer flush: every 300 s, or every 5 MB if that comes first.
    const flushesPerSecond = families.length * Math.max(1 / 300, (perFamilyRate * recordBytes) / (5 * 1024 * 1024));
    const puts = flushesPerSecond * month;
    add('Firehose + S3', 'S3 PUT requests', puts, 'requests', puts * prices.s3.putRequest);
    const storedGb = (events * recordBytes * ARCHIVE_COMPRESSION_RATIO) / GB;
    add('Firehose + S3', 'S3 storage added per month (gzip)', storedGb, 'GB-month', storedGb * prices.s3.standardGbMonth);
  }

  add('KMS', 'environment customer managed key', 1, 'keys', prices.kms.keyMonth);

  if (env.processor.tracing) {
    const apiRate = requests / month;
    const traces = (tracesPerSecond(apiRate) + families.length * tracesPerSecond(invocationsPerFamily)) * month;
    add('X-Ray', 'traces recorded (default sampling)', traces, 'traces', traces * prices.xray.traceRecorded);
  }

  const byService = new Map<Service, number>();
  for (const line of lines) byService.set(line.service, (byService.get(line.service) ?? 0) + line.cost);
  return {
    environment: env.name,
    families,
    workload,
    route,
    lines,
    total: lines.reduce((sum, line) => sum + line.cost, 0),
    byService,
    warnings,
  };
}
