/**
 * What differs between dev, staging and prod. Everything here is plain data:
 * the stack and the EventFamily construct turn it into Terraform, local mode
 * reads the resolved result through PipelineStack.deployment().
 *
 * Volume-based defaults follow REFERENCE.md section D: < 10 K events/day 1 shard,
 * batch 100, window 5 s; 100 K-1 M: 2-4 shards, batch 200, window 1 s.
 */
import { processorVpcFromEnvironment, type ProcessorVpc } from './processor-vpc.js';

export type EnvironmentName = 'dev' | 'staging' | 'prod';

export const PROJECT = 'event-flow';

/** A family's stream; every environment sets each field (a family may override any, see FamilyOptions). */
export interface StreamDefaults {
  /** Capacity mode: provisioned shards, or on-demand (AWS scales the shards, starting at 4). */
  readonly mode: 'PROVISIONED' | 'ON_DEMAND';
  /** Shards of a provisioned stream (ignored on demand). */
  readonly shardCount: number;
  /** Hours the stream keeps a record (24 to 8760). */
  readonly retentionHours: number;
  /** Encrypt with the environment's customer key instead of the AWS-managed `alias/aws/kinesis`. */
  readonly customerKey: boolean;
  /** Enhanced (per-shard) metrics, which CloudWatch bills per shard and metric. */
  readonly shardLevelMetrics: boolean;
}

/**
 * Node.js runtimes of Lambda. Provider 5.100 (the version cdktf's prebuilt
 * provider pins) validates the value and does not know `nodejs24.x` yet; see
 * the README ("Lambda runtime") for how to move when nodejs22.x is deprecated
 * (2027-04-30).
 */
export type LambdaRuntime = 'nodejs20.x' | 'nodejs22.x';

/** The runtime every environment uses unless it says otherwise. */
export const DEFAULT_LAMBDA_RUNTIME: LambdaRuntime = 'nodejs22.x';

/** A family's processor function; every environment sets each field (a family may override any, see FamilyOptions). */
export interface ProcessorDefaults {
  /** @default DEFAULT_LAMBDA_RUNTIME */
  readonly runtime: LambdaRuntime;
  /** MB of memory (Lambda allots CPU in proportion). */
  readonly memorySize: number;
  /** Seconds one invocation (one batch) may take. */
  readonly timeoutSeconds: number;
  /**
   * Reserve shards × parallelization factor concurrent executions per processor:
   * the most batches a Kinesis mapping ever runs at once, so the reservation only
   * keeps other functions from starving the processor and never throttles it.
   * Off by default: every reservation is taken from the account's quota, and AWS
   * keeps 100 executions unreserved (see requiredAccountConcurrency).
   * @default false
   */
  readonly reserveConcurrency: boolean;
  /** X-Ray active tracing. */
  readonly tracing: boolean;
  /** Days the function's log group keeps its logs. */
  readonly logRetentionDays: number;
  /** Powertools logger level (`POWERTOOLS_LOG_LEVEL`). */
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * Subnets and security groups to run the processors in (modules/processor-vpc.ts).
   * @default none: public AWS endpoints; set by EVENT_FLOW_PROCESSOR_SUBNET_IDS_<ENV> / _SECURITY_GROUP_IDS_<ENV>
   */
  readonly vpc?: ProcessorVpc;
}

/** What an environment sets of a family's event source mapping; the rest is EVENT_SOURCE_DEFAULTS (modules/family/settings.ts). */
export interface EventSourceDefaults {
  /** Most records per invocation. */
  readonly batchSize: number;
  /** Seconds the mapping may wait to fill a batch. */
  readonly maximumBatchingWindowInSeconds: number;
  /** Must be 1: the processors fence items per shard (EventFamily refuses anything else). */
  readonly parallelizationFactor: number;
}

/** One caller of the events API with a key of its own: a leaked key costs only that client's share. */
export interface ApiClient {
  /** Part of the key's and usage plan's names: lower case, digits and dashes. */
  readonly name: string;
  /** Steady requests per second of this client's usage plan; below the stage's limit. */
  readonly rateLimit: number;
  readonly burstLimit: number;
  /** Requests per day. */
  readonly dailyQuota: number;
}

/**
 * How an environment authenticates writes. Every environment states its choice;
 * `none` has to say why (only dev may choose it: see the deployability tests).
 */
export type ApiAuthentication =
  | { readonly type: 'none'; readonly reason: string }
  | { readonly type: 'api-key'; readonly clients: readonly ApiClient[] };

export interface ApiDefaults {
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  readonly authentication: ApiAuthentication;
  /** One origin, or `*` (dev only): REST API responses carry a single static Access-Control-Allow-Origin. */
  readonly corsAllowOrigins: readonly string[];
  readonly accessLogRetentionDays: number;
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
   * Whether this environment's stack manages the account-wide API Gateway settings
   * (`aws_api_gateway_account` and its CloudWatch role). Derived from one setting,
   * ACCOUNT_SETTINGS_OWNER, so that two environments in one account never fight.
   */
  readonly ownsAccountSettings: boolean;
  readonly tableDeletionProtection: boolean;
}

const region = process.env.EVENT_FLOW_REGION ?? 'eu-west-1';

/** A setting outside the values it may take. */
export class InvalidSettingError extends Error {
  override readonly name = 'InvalidSettingError';
}

export const ENVIRONMENT_NAMES: EnvironmentName[] = ['dev', 'staging', 'prod'];

/**
 * Which environments manage the account-wide API Gateway settings, from
 * `EVENT_FLOW_ACCOUNT_SETTINGS_OWNER`: one environment's name when several
 * share an account (the default, prod: the longest-lived stack, so destroying
 * dev never resets the role prod's access logs need), or `each` when every
 * environment has an account of its own. The owner must be applied first in
 * a shared account: a stage with access logging needs the role to be set.
 */
export function accountSettingsOwners(value: string | undefined): EnvironmentName[] {
  const owner = value === undefined || value === '' ? 'prod' : value;
  if (owner === 'each') return [...ENVIRONMENT_NAMES];
  if ((ENVIRONMENT_NAMES as readonly string[]).includes(owner)) return [owner as EnvironmentName];
  throw new InvalidSettingError(`EVENT_FLOW_ACCOUNT_SETTINGS_OWNER must be one of ${ENVIRONMENT_NAMES.join(', ')} or "each", got "${owner}"`);
}

const owners = accountSettingsOwners(process.env.EVENT_FLOW_ACCOUNT_SETTINGS_OWNER);

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
    processor: {
      runtime: DEFAULT_LAMBDA_RUNTIME,
      memorySize: 256,
      timeoutSeconds: 60,
      reserveConcurrency: false,
      tracing: false,
      logRetentionDays: 7,
      logLevel: 'DEBUG',
      vpc: processorVpcFromEnvironment('dev'),
    },
    // A 1 s window: a developer sees an event's effect about a second after sending it (local mode runs dev's settings).
    eventSource: { batchSize: 100, maximumBatchingWindowInSeconds: 1, parallelizationFactor: 1 },
    api: {
      throttlingRateLimit: 100,
      throttlingBurstLimit: 200,
      authentication: {
        type: 'none',
        reason:
          'dev is a sandbox for developers: synthetic data only, 100 requests/s for the whole stage, 7-day logs, no archive; ' +
          'local mode runs these settings, and keys would only add a step to every curl. Never put real data in dev.',
      },
      // Any origin: developers call dev from pages on localhost ports that differ per person.
      corsAllowOrigins: ['*'],
      accessLogRetentionDays: 7,
    },
    archive: false,
    alertEmail: alertEmail('dev'),
    ownsAccountSettings: owners.includes('dev'),
    tableDeletionProtection: false,
  },
  staging: {
    name: 'staging',
    region,
    stream: { mode: 'PROVISIONED', shardCount: 2, retentionHours: 24, customerKey: false, shardLevelMetrics: false },
    processor: {
      runtime: DEFAULT_LAMBDA_RUNTIME,
      memorySize: 512,
      timeoutSeconds: 60,
      reserveConcurrency: false,
      tracing: true,
      logRetentionDays: 14,
      logLevel: 'INFO',
      vpc: processorVpcFromEnvironment('staging'),
    },
    eventSource: { batchSize: 200, maximumBatchingWindowInSeconds: 1, parallelizationFactor: 1 },
    api: {
      throttlingRateLimit: 1_000,
      throttlingBurstLimit: 2_000,
      authentication: {
        type: 'api-key',
        clients: [
          { name: 'web-app', rateLimit: 300, burstLimit: 600, dailyQuota: 1_000_000 },
          { name: 'load-test', rateLimit: 600, burstLimit: 1_200, dailyQuota: 5_000_000 },
        ],
      },
      corsAllowOrigins: ['https://staging.example.com'],
      accessLogRetentionDays: 30,
    },
    archive: true,
    alertEmail: alertEmail('staging'),
    ownsAccountSettings: owners.includes('staging'),
    tableDeletionProtection: false,
  },
  prod: {
    name: 'prod',
    region,
    // 4 shards take 4,000 records/s (1,000 per shard is Kinesis' write limit); 7 days of retention leave a week to replay after an incident.
    stream: { mode: 'PROVISIONED', shardCount: 4, retentionHours: 168, customerKey: true, shardLevelMetrics: true },
    processor: {
      runtime: DEFAULT_LAMBDA_RUNTIME,
      memorySize: 512,
      timeoutSeconds: 60,
      // 4 shards × parallelization 1 = 4 per processor, 16 in all: the account needs 116 (AWS keeps 100 unreserved).
      // A fixed 50 per processor would need 300, more than many new accounts have.
      reserveConcurrency: true,
      tracing: true,
      logRetentionDays: 90,
      logLevel: 'INFO',
      vpc: processorVpcFromEnvironment('prod'),
    },
    // One batch per shard at a time (the processors' exactly-once needs it, see EventFamily): add shards to scale.
    eventSource: { batchSize: 200, maximumBatchingWindowInSeconds: 1, parallelizationFactor: 1 },
    api: {
      // The burst cannot usefully exceed the account's regional burst (5,000 by default, API Gateway quotas).
      throttlingRateLimit: 5_000,
      throttlingBurstLimit: 5_000,
      // Each client gets well under the stage's 5,000/s: one leaked key cannot take the whole stage.
      authentication: {
        type: 'api-key',
        clients: [
          { name: 'web-app', rateLimit: 2_000, burstLimit: 4_000, dailyQuota: 20_000_000 },
          { name: 'mobile-app', rateLimit: 2_000, burstLimit: 4_000, dailyQuota: 20_000_000 },
          { name: 'backfill', rateLimit: 500, burstLimit: 1_000, dailyQuota: 10_000_000 },
        ],
      },
      corsAllowOrigins: ['https://app.example.com'],
      accessLogRetentionDays: 90,
    },
    archive: true,
    alertEmail: alertEmail('prod'),
    ownsAccountSettings: owners.includes('prod'),
    tableDeletionProtection: true,
  },
};


/**
 * Concurrent executions the account must allow for this much reserved concurrency:
 * Lambda refuses a reservation that would leave fewer than 100 unreserved
 * ("Lambda function scaling" / "Configuring reserved concurrency", Lambda Developer Guide).
 */
export const UNRESERVED_CONCURRENCY_MINIMUM = 100;

export function requiredAccountConcurrency(reservedTotal: number): number {
  return reservedTotal + UNRESERVED_CONCURRENCY_MINIMUM;
}

/** Resource-name prefix of one environment, e.g. `event-flow-dev`. */
export function prefix(env: EnvironmentConfig): string {
  return `${PROJECT}-${env.name}`;
}
