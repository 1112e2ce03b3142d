/**
 * The processor: log group, execution role and its policy, the on-failure
 * destination, the bundle, the function and the event source mapping from the
 * stream, plus the processor's settings as local mode runs it.
 */
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import type { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping/index.js';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import { AssetType, Fn, TerraformAsset } from 'cdktf';
import type { Construct } from 'constructs';
import type { FamilyDefinition } from '../../handlers/runtime/family.js';
import { bundleArchive, type BundleArchive } from '../bundle-archive.js';
import type { ProcessorSettings } from '../deployment.js';
import type { ProcessorDefaults, StreamDefaults } from '../environments.js';
import { FailureDestination } from '../failure-destination.js';
import { serviceRole, policyDocument, type Statement } from '../iam.js';
import { lambdaVpcConfig, vpcAccessStatements } from '../processor-vpc.js';
import { grantStatement, processorTableAccess, type TableAccess } from '../table-access.js';
import { REPO_ROOT, type FamilySettings } from './settings.js';

/** A resource the processor uses: its ARN for the policy, its name for the function's environment. */
export interface NamedResource {
  readonly arn: string;
  readonly name: string;
}

export interface ProcessorProps {
  /** `<project>-<env>-<family>`: function and log group name. */
  readonly name: string;
  readonly family: FamilyDefinition;
  /** Environment name, for the function's description. */
  readonly environmentName: string;
  readonly region: string;
  readonly accountId: string;
  readonly settings: FamilySettings;
  readonly streamArn: string;
  /** The environment key: failure objects are SSE-KMS with it (and the stream, with a customer key). */
  readonly key: KmsKey;
  /** The event table (Terraform references). */
  readonly table: NamedResource;
  /** The alert bus (Terraform references). */
  readonly alertBus: NamedResource;
  /** Plain names of the table and the alert bus, for local mode. */
  readonly localNames: { readonly tableName: string; readonly alertBusName: string };
  readonly metricsNamespace: string;
  /** Where the failure bucket's alarm notifies. */
  readonly alarmTopicArn: string;
}

export interface Processor {
  readonly logGroup: CloudwatchLogGroup;
  readonly failureDestination: FailureDestination;
  readonly function: LambdaFunction;
  readonly eventSourceMapping: LambdaEventSourceMapping;
  readonly bundleArchive: BundleArchive;
  readonly tableAccess: TableAccess;
  readonly settings: ProcessorSettings;
}

export function buildProcessor(scope: Construct, props: ProcessorProps): Processor {
  const { name, family, settings } = props;
  const cfg = settings.processor;
  const logGroup = new CloudwatchLogGroup(scope, 'logs', { name: `/aws/lambda/${name}`, retentionInDays: cfg.logRetentionDays });

  const tableAccess = processorTableAccess(family.name, name);
  const role = serviceRole(scope, 'role', tableAccess.roleName, 'lambda.amazonaws.com');
  const failureDestination = new FailureDestination(scope, 'failures', {
    name,
    role,
    key: props.key,
    alarmTopicArn: props.alarmTopicArn,
    retentionDays: settings.failureRetentionDays,
  });
  const rolePolicy = new IamRolePolicy(scope, 'role-policy', {
    role: role.id,
    name: 'processor',
    policy: policyDocument(scope, 'role-policy-document', processorStatements(props, tableAccess, `${logGroup.arn}:*`)).json,
  });

  const { archive, asset } = processorBundle(scope, settings.bundleDir);
  const environment: Record<string, string> = {
    TABLE_NAME: props.table.name,
    EVENT_BUS_NAME: props.alertBus.name,
    FAMILY_NAME: family.name,
    POWERTOOLS_SERVICE_NAME: family.name,
    POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
    POWERTOOLS_LOG_LEVEL: cfg.logLevel,
    FENCE_RETENTION_SECONDS: String(2 * redeliveryHorizonSeconds(settings)),
    MALFORMED_TTL_SECONDS: String(failureDestination.retentionDays * 86_400),
  };
  const reservedConcurrency = reservedConcurrencyOf(cfg, settings.stream, settings.eventSource.parallelizationFactor);
  const processorSettings: ProcessorSettings = {
    functionName: name,
    roleName: tableAccess.roleName,
    handler: 'index.handler',
    bundleDir: relative(REPO_ROOT, settings.bundleDir),
    memorySize: cfg.memorySize,
    timeoutSeconds: cfg.timeoutSeconds,
    reservedConcurrency,
    environment: { ...environment, TABLE_NAME: props.localNames.tableName, EVENT_BUS_NAME: props.localNames.alertBusName },
  };
  const fn = new LambdaFunction(scope, 'function', {
    functionName: name,
    description: `${family.description} (${props.environmentName})`,
    role: role.arn,
    runtime: cfg.runtime,
    // The bundle is plain JavaScript: Graviton runs it for about 20 % less per GB-second.
    architectures: ['arm64'],
    handler: processorSettings.handler,
    filename: asset.path,
    // The zip's own hash, as Lambda reports it: a changed bundle updates the code, an unchanged one is no diff.
    sourceCodeHash: Fn.filebase64sha256(asset.path),
    memorySize: cfg.memorySize,
    timeout: cfg.timeoutSeconds,
    reservedConcurrentExecutions: reservedConcurrency,
    environment: { variables: environment },
    loggingConfig: { logFormat: 'Text', logGroup: logGroup.name },
    tracingConfig: cfg.tracing ? { mode: 'Active' } : undefined,
    vpcConfig: lambdaVpcConfig(cfg.vpc),
    dependsOn: [rolePolicy, logGroup],
  });

  const es = settings.eventSource;
  const eventSourceMapping = new LambdaEventSourceMapping(scope, 'event-source', {
    eventSourceArn: props.streamArn,
    functionName: fn.arn,
    startingPosition: es.startingPosition,
    batchSize: es.batchSize,
    maximumBatchingWindowInSeconds: es.maximumBatchingWindowInSeconds,
    bisectBatchOnFunctionError: es.bisectBatchOnFunctionError,
    maximumRetryAttempts: es.maximumRetryAttempts,
    maximumRecordAgeInSeconds: es.maximumRecordAgeInSeconds,
    parallelizationFactor: es.parallelizationFactor,
    functionResponseTypes: ['ReportBatchItemFailures'],
    destinationConfig: { onFailure: { destinationArn: failureDestination.bucket.arn } },
    dependsOn: [rolePolicy, failureDestination.rolePolicy],
  });

  return { logGroup, failureDestination, function: fn, eventSourceMapping, bundleArchive: archive, tableAccess, settings: processorSettings };
}

/** Exactly what the processor touches (the failure destination grants its own bucket). */
function processorStatements(props: ProcessorProps, tableAccess: TableAccess, logStreamsArn: string): Statement[] {
  const cfg = props.settings.processor;
  const statements: Statement[] = [
    {
      sid: 'ReadOwnStream',
      effect: 'Allow',
      actions: ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'],
      resources: [props.streamArn],
    },
    {
      // The environment key encrypts the failure objects (and the stream when a customer key is used).
      sid: 'UseEnvironmentKey',
      effect: 'Allow',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [props.key.arn],
    },
    // Local mode enforces this same grant on the processor's requests (local/table-access.ts).
    grantStatement(tableAccess.grant, props.table.arn),
    { sid: 'PublishAlerts', effect: 'Allow', actions: ['events:PutEvents'], resources: [props.alertBus.arn] },
    { sid: 'WriteOwnLogs', effect: 'Allow', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logStreamsArn] },
  ];
  if (cfg.tracing) {
    // X-Ray has no resource-level permissions: these two actions only accept "*" (allow-listed in the policy test).
    statements.push({ sid: 'WriteTraces', effect: 'Allow', actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] });
  }
  if (cfg.vpc) statements.push(...vpcAccessStatements(cfg.vpc, props.region, props.accountId));
  return statements;
}

/** The built bundle as a deterministic zip, and the Terraform asset that ships it. */
function processorBundle(scope: Construct, bundleDir: string): { archive: BundleArchive; asset: TerraformAsset } {
  if (!existsSync(resolve(bundleDir, 'index.mjs'))) {
    throw new Error(`no handler bundle at ${bundleDir}/index.mjs: run \`npm run build\` first (npm run synth does)`);
  }
  // Zips live next to the bundle folders (dist/handlers/.archives), out of the bundles themselves.
  const archive = bundleArchive(bundleDir, resolve(bundleDir, '..', '.archives'));
  const asset = new TerraformAsset(scope, 'bundle', { path: archive.path, type: AssetType.FILE, assetHash: archive.contentHash });
  return { archive, asset };
}

/**
 * A record can only come back while the mapping still retries it: fences of partition keys idle for
 * longer than that can be pruned, which keeps hot items (a subject shared by many students) small.
 */
function redeliveryHorizonSeconds(settings: FamilySettings): number {
  const maxAge = settings.eventSource.maximumRecordAgeInSeconds;
  return maxAge > 0 ? maxAge : settings.stream.retentionHours * 3_600;
}

/**
 * Shards × parallelization factor when the environment reserves concurrency: a
 * Kinesis mapping never runs more batches at once, so the reservation cannot
 * throttle the processor. None for on-demand streams, whose shard count AWS
 * changes: a fixed reservation would throttle them once they grow.
 */
function reservedConcurrencyOf(processor: ProcessorDefaults, stream: StreamDefaults, parallelizationFactor: number): number | undefined {
  if (!processor.reserveConcurrency || stream.mode === 'ON_DEMAND') return undefined;
  return stream.shardCount * parallelizationFactor;
}
