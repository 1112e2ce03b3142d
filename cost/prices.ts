/**
 * The one price table of the cost estimate: AWS list prices (on-demand, no
 * free tier, no savings plans, no taxes) in US East (N. Virginia), us-east-1,
 * in US dollars, as shown on each service's pricing page.
 *
 * Read on 2026-12-02 from the pages named in `source` (through this project's
 * stored copies of them, which can lag the live pages): check them before
 * relying on a figure. Other regions cost more (eu-west-1, the stacks'
 * default region, is typically 5 to 15 % above these).
 */
export interface Tier {
  /** Upper bound of the tier in units per month; undefined for the last tier. */
  readonly upTo?: number;
  /** Price per unit in this tier. */
  readonly price: number;
}

export const PRICES = {
  readOn: '2026-12-02',
  region: 'us-east-1',
  currency: 'USD',
  kind: 'list prices: on demand, first tiers as listed, no free tier, no discounts, no taxes',
  source: {
    apiGateway: 'https://aws.amazon.com/api-gateway/pricing/ (REST APIs)',
    kinesis: 'https://aws.amazon.com/kinesis/data-streams/pricing/ (provisioned and on-demand)',
    lambda: 'https://aws.amazon.com/lambda/pricing/ (Arm)',
    dynamodb: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    eventbridge: 'https://aws.amazon.com/eventbridge/pricing/ (custom events)',
    sns: 'https://aws.amazon.com/sns/pricing/ (standard topics)',
    sqs: 'https://aws.amazon.com/sqs/pricing/ (standard queues)',
    cloudwatch: 'https://aws.amazon.com/cloudwatch/pricing/',
    firehose: 'https://aws.amazon.com/firehose/pricing/ (Direct PUT and Kinesis Data Streams as source)',
    s3: 'https://aws.amazon.com/s3/pricing/ (S3 Standard)',
    kms: 'https://aws.amazon.com/kms/pricing/',
    xray: 'https://aws.amazon.com/xray/pricing/',
  },
  apiGateway: {
    /** REST API requests, per request, by monthly volume (per million: 3.50, 2.80, 2.38, 1.51). */
    restRequests: [
      { upTo: 333e6, price: 3.5e-6 },
      { upTo: 1e9, price: 2.8e-6 },
      { upTo: 20e9, price: 2.38e-6 },
      { price: 1.51e-6 },
    ] satisfies readonly Tier[],
  },
  kinesis: {
    /** Provisioned: per shard-hour. */
    shardHour: 0.015,
    /** Provisioned: per PUT payload unit (25 KB of a record, rounded up). */
    putPayloadUnit: 0.014e-6,
    putPayloadUnitBytes: 25 * 1024,
    /** Provisioned: retention beyond 24 h up to 7 days, per shard-hour. */
    extendedRetentionShardHour: 0.02,
    /** On-demand: per stream-hour. */
    onDemandStreamHour: 0.04,
    /** On-demand: per GB written (each record rounded up to 1 KB). */
    onDemandIngestGb: 0.08,
    /** On-demand: per GB read (each consumer, here the mapping and the archive). */
    onDemandRetrievalGb: 0.04,
    /** On-demand: retention beyond 24 h up to 7 days, per GB-month. */
    onDemandExtendedRetentionGbMonth: 0.1,
  },
  lambda: {
    request: 0.2e-6,
    /** Arm (the processors are arm64), first 7.5 billion GB-seconds a month. */
    armGbSecond: 0.0000133334,
  },
  dynamodb: {
    /** On-demand write request unit (1 KB of item written, rounded up). */
    writeRequestUnit: 0.625e-6,
    /** On-demand read request unit (4 KB strongly consistent, rounded up). */
    readRequestUnit: 0.125e-6,
    storageGbMonth: 0.25,
    /** Continuous backups (point-in-time recovery), per GB-month of table size. */
    pitrGbMonth: 0.2,
  },
  eventbridge: {
    /** Custom events put on a bus (64 KB chunks); delivery to targets is not charged. */
    customEvent: 1.0e-6,
  },
  sns: {
    /** Standard topic publishes (64 KB chunks). */
    publish: 0.5e-6,
  },
  sqs: {
    /** Standard queue requests (64 KB chunks). */
    request: 0.4e-6,
  },
  cloudwatch: {
    /** Per metric per month, first 10,000 (EMF metrics and Kinesis shard-level metrics are custom metrics). */
    metricMonth: 0.3,
    /** Standard-resolution alarm, per metric it evaluates, per month. */
    alarmMetricMonth: 0.1,
    dashboardMonth: 3.0,
    /** Logs ingested (standard class), per GB. */
    logsIngestGb: 0.5,
    /** Logs stored (compressed), per GB-month. */
    logsStorageGbMonth: 0.03,
  },
  firehose: {
    /** Ingested per GB, first 500 TB a month; each record rounded up to 5 KB. */
    ingestGb: 0.029,
    recordRoundingBytes: 5 * 1024,
  },
  s3: {
    standardGbMonth: 0.023,
    putRequest: 0.005e-3,
  },
  kms: {
    /** Customer managed key, per month (the environment key). */
    keyMonth: 1.0,
  },
  xray: {
    /** Traces recorded. */
    traceRecorded: 5.0e-6,
  },
} as const;

export type Prices = typeof PRICES;

/** The cost of `units` in a month under tiered prices. */
export function tiered(units: number, tiers: readonly Tier[]): number {
  let cost = 0;
  let below = 0;
  for (const tier of tiers) {
    const top = tier.upTo ?? Number.POSITIVE_INFINITY;
    if (units <= below) break;
    cost += (Math.min(units, top) - below) * tier.price;
    below = top;
  }
  return cost;
}
