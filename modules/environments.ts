/**
 * What differs between dev, staging and prod. Everything here is plain data:
 * the stack and the EventFamily construct turn it into Terraform, local mode
 * reads the resolved result through PipelineStack.deployment().
 *
 * Volume-based defaults follow REFERENCE.md section D: < 10 K events/day 1 shard,
 * batch 100, window 5 s; 100 K-1 M: 2-4 shards, batch 200, window 1 s.
 */
export type EnvironmentName = 'dev' | 'staging' | 'prod';

export const PROJECT = 'event-flow';

export interface StreamDefaults {
  readonly mode: 'PROVISIONED' | 'ON_DEMAND';
  readonly shardCount: number;
  readonly retentionHours: number;
  /** Encrypt with the environment's customer key instead of the AWS-managed `alias/aws/kinesis`. */
  readonly customerKey: boolean;
  readonly shardLevelMetrics: boolean;
}

export interface ProcessorDefaults {
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  readonly reservedConcurrency?: number;
  readonly tracing: boolean;
  readonly logRetentionDays: number;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

export interface EventSourceDefaults {
  readonly batchSize: number;
  readonly maximumBatchingWindowInSeconds: number;
  /** Must be 1: the processors fence items per shard (EventFamily refuses anything else). */
  readonly parallelizationFactor: number;
}

export interface ApiDefaults {
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  readonly apiKeyRequired: boolean;
  /** One origin, or `*`: REST API responses carry a single static Access-Control-Allow-Origin. */
  readonly corsAllowOrigins: readonly string[];
  readonly accessLogRetentionDays: number;
  /** Requests per day per API key (only when keys are required). */
  readonly dailyQuota?: number;
}

export interface EnvironmentConfig {
  readonly name: EnvironmentName;
  readonly region: string;
  readonly stream: StreamDefaults;
  readonly processor: ProcessorDefaults;
  readonly eventSource: EventSourceDefaults;
  readonly api: ApiDefaults;
  /** Firehose archive of every stream to S3 (families may override). */
  readonly archive: boolean;
  /** Subscribed to the alarm and alert topics when set; read from the environment, never committed. */
  readonly alertEmail?: string;
  /**
   * API Gateway's CloudWatch role is one setting per account and region. Let exactly
   * one stack per account/region manage it (its policy covers every environment's
   * access-log groups, so sharing an account still works).
   */
  readonly manageApiGatewayAccount: boolean;
  readonly tableDeletionProtection: boolean;
}

const region = process.env.EVENT_FLOW_REGION ?? 'eu-west-1';

function alertEmail(name: EnvironmentName): string | undefined {
  const value = process.env[`EVENT_FLOW_ALERT_EMAIL_${name.toUpperCase()}`] ?? process.env.EVENT_FLOW_ALERT_EMAIL;
  return value === undefined || value === '' ? undefined : value;
}

export const ENVIRONMENTS: Readonly<Record<EnvironmentName, EnvironmentConfig>> = {
  dev: {
    name: 'dev',
    region,
    // One shard carries 1,000 records/s: ample for a developer, and the cheapest provisioned stream.
    stream: { mode: 'PROVISIONED', shardCount: 1, retentionHours: 24, customerKey: false, shardLevelMetrics: false },
    processor: { memorySize: 256, timeoutSeconds: 60, tracing: false, logRetentionDays: 7, logLevel: 'DEBUG' },
    // A 1 s window: a developer sees an event's effect about a second after sending it (local mode runs dev's settings).
    eventSource: { batchSize: 100, maximumBatchingWindowInSeconds: 1, parallelizationFactor: 1 },
    api: { throttlingRateLimit: 100, throttlingBurstLimit: 200, apiKeyRequired: false, corsAllowOrigins: ['*'], accessLogRetentionDays: 7 },
    archive: false,
    alertEmail: alertEmail('dev'),
    manageApiGatewayAccount: true,
    tableDeletionProtection: false,
  },
  staging: {
    name: 'staging',
    region,
    stream: { mode: 'PROVISIONED', shardCount: 2, retentionHours: 24, customerKey: false, shardLevelMetrics: false },
    processor: { memorySize: 512, timeoutSeconds: 60, tracing: true, logRetentionDays: 14, logLevel: 'INFO' },
    eventSource: { batchSize: 200, maximumBatchingWindowInSeconds: 1, parallelizationFactor: 1 },
    api: {
      throttlingRateLimit: 1_000,
      throttlingBurstLimit: 2_000,
      apiKeyRequired: false,
      corsAllowOrigins: ['https://staging.example.com'],
      accessLogRetentionDays: 30,
    },
    archive: true,
    alertEmail: alertEmail('staging'),
    manageApiGatewayAccount: true,
    tableDeletionProtection: false,
  },
  prod: {
    name: 'prod',
    region,
    // 4 shards take 4,000 records/s (the seeds' burst); 7 days of retention leave a week to replay after an incident.
    stream: { mode: 'PROVISIONED', shardCount: 4, retentionHours: 168, customerKey: true, shardLevelMetrics: true },
    // Reserved concurrency 50 (seed C) keeps a runaway replay from starving the account's other functions.
    processor: { memorySize: 512, timeoutSeconds: 60, reservedConcurrency: 50, tracing: true, logRetentionDays: 90, logLevel: 'INFO' },
    // One batch per shard at a time (the processors' exactly-once needs it, see EventFamily): add shards to scale.
    eventSource: { batchSize: 200, maximumBatchingWindowInSeconds: 1, parallelizationFactor: 1 },
    api: {
      throttlingRateLimit: 5_000,
      throttlingBurstLimit: 10_000,
      apiKeyRequired: true,
      corsAllowOrigins: ['https://app.example.com'],
      accessLogRetentionDays: 90,
      dailyQuota: 50_000_000,
    },
    archive: true,
    alertEmail: alertEmail('prod'),
    manageApiGatewayAccount: true,
    tableDeletionProtection: true,
  },
};

export const ENVIRONMENT_NAMES = Object.keys(ENVIRONMENTS) as EnvironmentName[];

/** Resource-name prefix of one environment, e.g. `event-flow-dev`. */
export function prefix(env: EnvironmentConfig): string {
  return `${PROJECT}-${env.name}`;
}
