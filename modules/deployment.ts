import type { FamilyDefinition } from '../handlers/runtime/family.js';
import type { TableAccess } from './table-access.js';

/**
 * The settings an EventFamily construct resolves for one family in one
 * environment, as plain data. The construct synthesizes Terraform from it, and
 * local mode runs its engines, gateway and pollers from the very same object,
 * so nothing about a family is declared twice.
 */
export interface EventSourceSettings {
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly batchSize: number;
  readonly maximumBatchingWindowInSeconds: number;
  readonly bisectBatchOnFunctionError: boolean;
  /** Bounded: a poison batch must not block its shard for the stream's whole retention. */
  readonly maximumRetryAttempts: number;
  readonly maximumRecordAgeInSeconds: number;
  readonly parallelizationFactor: number;
  readonly reportBatchItemFailures: true;
}

export interface ProcessorSettings {
  readonly functionName: string;
  /** Name of the execution role (its ARN is the `invokeIdentityArn` of every Kinesis record Lambda delivers). @default the function name (hand-built test deployments) */
  readonly roleName?: string;
  /** Lambda handler string inside the bundle, e.g. `index.handler`. */
  readonly handler: string;
  /** Folder of the esbuild bundle (relative to the repository root). */
  readonly bundleDir: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  readonly reservedConcurrency?: number;
  /** The environment the function gets in AWS (local mode adds only endpoint variables). */
  readonly environment: Readonly<Record<string, string>>;
}

export interface StreamSettings {
  readonly name: string;
  readonly mode: 'PROVISIONED' | 'ON_DEMAND';
  /** Shards of a provisioned stream; on-demand streams start with 4 in AWS. */
  readonly shardCount: number;
  readonly retentionHours: number;
}

export interface FamilyDeployment {
  readonly family: FamilyDefinition;
  readonly stream: StreamSettings;
  readonly processor: ProcessorSettings;
  readonly eventSource: EventSourceSettings;
  /** Days the on-failure destination keeps failed records (with their payload); malformed items expire as late. */
  readonly failureRetentionDays: number;
  /**
   * The processor role's grant on the event table, exactly as synthesized;
   * local mode refuses every request outside it, as IAM does.
   * @default processorTableAccess(family.name, processor.functionName)
   */
  readonly tableAccess?: TableAccess;
}

export interface ApiSettings {
  readonly name: string;
  readonly stageName: string;
  /** Stage-wide steady-state requests per second, and the token-bucket burst above it. */
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  readonly apiKeyRequired: boolean;
  readonly corsAllowOrigins: readonly string[];
}

/** What local mode needs from a PipelineStack: every family plus the shared resources. */
export interface PipelineDeployment {
  readonly project: string;
  readonly environment: string;
  readonly region: string;
  readonly tableName: string;
  /** Attribute holding each item's expiry in epoch seconds. */
  readonly tableTtlAttribute: string;
  readonly alertBusName: string;
  readonly api: ApiSettings;
  readonly families: readonly FamilyDeployment[];
}
