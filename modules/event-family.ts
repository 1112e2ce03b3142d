/**
 * THE module: everything one event family needs in one environment. A family
 * is one `new EventFamily(stack, { family })` line; the stream, processor,
 * mapping, failure destination, alarms, optional archive and the API routes
 * follow from its definition and the environment's defaults.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { CloudwatchMetricAlarm, type CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { KinesisFirehoseDeliveryStream } from '@cdktf/provider-aws/lib/kinesis-firehose-delivery-stream/index.js';
import { KinesisStream } from '@cdktf/provider-aws/lib/kinesis-stream/index.js';
import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping/index.js';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
import { Aspects, AssetType, Fn, TerraformAsset, TerraformOutput, TerraformResource, type IAspect } from 'cdktf';
import { Construct, type IConstruct } from 'constructs';
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import type { EventSourceSettings, FamilyDeployment, ProcessorSettings, StreamSettings } from './deployment.js';
import type { ProcessorDefaults, StreamDefaults } from './environments.js';
import { bundleArchive, type BundleArchive } from './bundle-archive.js';
import { FailureDestination } from './failure-destination.js';
import { denyInsecureTransport, policyDocument, serviceRole, type Statement } from './iam.js';
import { FOURTEEN_DAYS, type PipelineStack } from './pipeline-stack.js';
import { lambdaVpcConfig, vpcAccessStatements } from './processor-vpc.js';
import { grantStatement, processorTableAccess } from './table-access.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

/**
 * Metric the processors publish (EMF via Powertools: dimensions `service` and
 * `family`) for every record they cannot parse or validate. A metric query
 * must name the exact dimension set the metric was published with.
 */
export const MALFORMED_METRIC = 'MalformedEvents';

export interface ArchiveSettings {
  /** Firehose buffering: 5 MB / 300 s keeps objects few and large. */
  readonly bufferingSizeMb: number;
  readonly bufferingIntervalSeconds: number;
}

export interface AlarmSettings {
  readonly iteratorAgeSeconds: number;
  readonly malformedPercent: number;
}

export interface EventFamilyProps {
  readonly family: FamilyDefinition;
  readonly stream?: Partial<StreamDefaults>;
  readonly processor?: Partial<ProcessorDefaults>;
  readonly eventSource?: Partial<Omit<EventSourceSettings, 'reportBatchItemFailures'>>;
  readonly alarms?: Partial<AlarmSettings>;
  /** `true` for the default buffering, `false` for none; unset follows the environment. */
  readonly archive?: boolean | Partial<ArchiveSettings>;
  /**
   * Days failed records (with their payload) and malformed records are kept.
   * @default DEFAULT_FAILURE_RETENTION_DAYS (14)
   */
  readonly failureRetentionDays?: number;
  /** Folder of the built bundle; defaults to `dist/handlers/<family>` (see scripts/build.ts). */
  readonly bundleDir?: string;
}

const ALARM_DEFAULTS: AlarmSettings = {
  // A minute behind is already visible on a live dashboard.
  iteratorAgeSeconds: 60,
  // More than 5 % malformed means a client or a schema is broken.
  malformedPercent: 5,
};

const ARCHIVE_DEFAULTS: ArchiveSettings = { bufferingSizeMb: 5, bufferingIntervalSeconds: 300 };

export { PROCESSOR_TABLE_ACTIONS } from './table-access.js';

export class EventFamily extends Construct {
  readonly family: FamilyDefinition;
  readonly stream: KinesisStream;
  readonly function: LambdaFunction;
  readonly eventSourceMapping: LambdaEventSourceMapping;
  readonly failureDestination: FailureDestination;
  readonly logGroup: CloudwatchLogGroup;
  readonly alarms: CloudwatchMetricAlarm[] = [];
  readonly archiveStream?: KinesisFirehoseDeliveryStream;
  readonly archiveBucket?: S3Bucket;
  /** The processor's deployment package. */
  readonly bundleArchive: BundleArchive;
  /** The resolved settings, as local mode consumes them. */
  readonly deployment: FamilyDeployment;

  constructor(stack: PipelineStack, props: EventFamilyProps) {
    const { family } = props;
    super(stack, family.name);
    this.family = family;
    const env = stack.environment;
    const name = `${stack.namePrefix}-${family.name}`;
    Aspects.of(this).add(new FamilyTags(family.name));

    const streamCfg = { ...env.stream, ...props.stream };
    const processorCfg = { ...env.processor, ...props.processor };
    const alarmCfg = { ...ALARM_DEFAULTS, ...props.alarms };

    const streamSettings: StreamSettings = {
      name,
      mode: streamCfg.mode,
      // AWS starts an on-demand stream with 4 shards; local mode creates as many.
      shardCount: streamCfg.mode === 'ON_DEMAND' ? 4 : streamCfg.shardCount,
      retentionHours: streamCfg.retentionHours,
    };
    const streamKeyArn = streamCfg.customerKey ? stack.key.arn : undefined;
    this.stream = new KinesisStream(this, 'stream', {
      name,
      streamModeDetails: { streamMode: streamCfg.mode },
      shardCount: streamCfg.mode === 'PROVISIONED' ? streamCfg.shardCount : undefined,
      retentionPeriod: streamCfg.retentionHours,
      encryptionType: 'KMS',
      kmsKeyId: streamKeyArn ?? 'alias/aws/kinesis',
      shardLevelMetrics: streamCfg.shardLevelMetrics
        ? ['IncomingRecords', 'IncomingBytes', 'WriteProvisionedThroughputExceeded', 'IteratorAgeMilliseconds']
        : undefined,
    });

    this.logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/lambda/${name}`,
      retentionInDays: processorCfg.logRetentionDays,
    });

    const tableAccess = processorTableAccess(family.name, name);
    const role = serviceRole(this, 'role', tableAccess.roleName, 'lambda.amazonaws.com');
    this.failureDestination = new FailureDestination(this, 'failures', {
      name,
      role,
      key: stack.key,
      alarmTopicArn: stack.alarmTopic.arn,
      ...(props.failureRetentionDays !== undefined ? { retentionDays: props.failureRetentionDays } : {}),
    });
    this.alarms.push(this.failureDestination.alarm);
    const statements: Statement[] = [
      {
        sid: 'ReadOwnStream',
        effect: 'Allow',
        actions: ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'],
        resources: [this.stream.arn],
      },
      {
        // The environment key encrypts the failure objects (and the stream when a customer key is used).
        sid: 'UseEnvironmentKey',
        effect: 'Allow',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [stack.key.arn],
      },
      // Local mode enforces this same grant on the processor's requests (local/table-access.ts).
      grantStatement(tableAccess.grant, stack.table.arn),
      { sid: 'PublishAlerts', effect: 'Allow', actions: ['events:PutEvents'], resources: [stack.alertBus.arn] },
      {
        sid: 'WriteOwnLogs',
        effect: 'Allow',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${this.logGroup.arn}:*`],
      },
    ];
    if (processorCfg.tracing) {
      // X-Ray has no resource-level permissions: these two actions only accept "*" (allow-listed in the policy test).
      statements.push({ sid: 'WriteTraces', effect: 'Allow', actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] });
    }
    if (processorCfg.vpc) statements.push(...vpcAccessStatements(processorCfg.vpc, env.region, stack.accountId));
    const rolePolicy = new IamRolePolicy(this, 'role-policy', {
      role: role.id,
      name: 'processor',
      policy: policyDocument(this, 'role-policy-document', statements).json,
    });

    const bundleDir = resolve(repoRoot, props.bundleDir ?? `dist/handlers/${family.name}`);
    if (!existsSync(resolve(bundleDir, 'index.mjs'))) {
      throw new Error(`no handler bundle at ${bundleDir}/index.mjs: run \`npm run build\` first (npm run synth does)`);
    }
    // Zips live next to the bundle folders (dist/handlers/.archives), out of the bundles themselves.
    const archive = (this.bundleArchive = bundleArchive(bundleDir, resolve(bundleDir, '..', '.archives')));
    const asset = new TerraformAsset(this, 'bundle', { path: archive.path, type: AssetType.FILE, assetHash: archive.contentHash });

    const eventSource: EventSourceSettings = {
      // TRIM_HORIZON: a new or re-created mapping processes what is already in the stream instead of skipping it.
      startingPosition: 'TRIM_HORIZON',
      batchSize: env.eventSource.batchSize,
      maximumBatchingWindowInSeconds: env.eventSource.maximumBatchingWindowInSeconds,
      // Halving a failing batch isolates a poison record in log2(batch) retries instead of blocking the shard.
      bisectBatchOnFunctionError: true,
      // 3 retries cover throttling blips; anything still failing goes to the failure bucket.
      maximumRetryAttempts: 3,
      // One hour: well inside the shortest retention (24 h), so nothing expires unseen before reaching the failure bucket.
      maximumRecordAgeInSeconds: 3_600,
      parallelizationFactor: env.eventSource.parallelizationFactor,
      reportBatchItemFailures: true,
      ...props.eventSource,
    };
    if (eventSource.parallelizationFactor !== 1) {
      // The processors fence each item per shard (handlers/runtime/apply.ts), which is only sound while Lambda
      // runs one batch per shard at a time: with a factor above 1 it keeps order only per partition key, and
      // which key goes to which concurrent batch is not documented.
      throw new Error(
        `${family.name}: parallelizationFactor ${eventSource.parallelizationFactor} is not supported; the processors apply each shard's ` +
          `records in order with one fence per shard and need parallelizationFactor 1. Add shards to process more in parallel.`,
      );
    }
    // A record can only come back while the mapping still retries it: fences of partition keys idle for
    // longer than that can be pruned, which keeps hot items (a subject shared by many students) small.
    const redeliveryHorizonSeconds =
      eventSource.maximumRecordAgeInSeconds > 0 ? eventSource.maximumRecordAgeInSeconds : streamCfg.retentionHours * 3_600;
    const environment: Record<string, string> = {
      TABLE_NAME: stack.table.name,
      EVENT_BUS_NAME: stack.alertBus.name,
      FAMILY_NAME: family.name,
      POWERTOOLS_SERVICE_NAME: family.name,
      POWERTOOLS_METRICS_NAMESPACE: stack.metricsNamespace,
      POWERTOOLS_LOG_LEVEL: processorCfg.logLevel,
      FENCE_RETENTION_SECONDS: String(2 * redeliveryHorizonSeconds),
      MALFORMED_TTL_SECONDS: String(this.failureDestination.retentionDays * 86_400),
    };
    const reservedConcurrency = reservedConcurrencyOf(processorCfg, streamCfg, eventSource.parallelizationFactor);
    const processorSettings: ProcessorSettings = {
      functionName: name,
      roleName: tableAccess.roleName,
      handler: 'index.handler',
      bundleDir: isAbsolute(bundleDir) ? relative(repoRoot, bundleDir) : bundleDir,
      memorySize: processorCfg.memorySize,
      timeoutSeconds: processorCfg.timeoutSeconds,
      reservedConcurrency,
      environment: {
        ...environment,
        TABLE_NAME: stack.deploymentNames.tableName,
        EVENT_BUS_NAME: stack.deploymentNames.alertBusName,
      },
    };
    this.function = new LambdaFunction(this, 'function', {
      functionName: name,
      description: `${family.description} (${env.name})`,
      role: role.arn,
      runtime: processorCfg.runtime,
      // The bundle is plain JavaScript: Graviton runs it for about 20 % less per GB-second.
      architectures: ['arm64'],
      handler: processorSettings.handler,
      filename: asset.path,
      // The zip's own hash, as Lambda reports it: a changed bundle updates the code, an unchanged one is no diff.
      sourceCodeHash: Fn.filebase64sha256(asset.path),
      memorySize: processorCfg.memorySize,
      timeout: processorCfg.timeoutSeconds,
      reservedConcurrentExecutions: reservedConcurrency,
      environment: { variables: environment },
      loggingConfig: { logFormat: 'Text', logGroup: this.logGroup.name },
      tracingConfig: processorCfg.tracing ? { mode: 'Active' } : undefined,
      vpcConfig: lambdaVpcConfig(processorCfg.vpc),
      dependsOn: [rolePolicy, this.logGroup],
    });

    this.eventSourceMapping = new LambdaEventSourceMapping(this, 'event-source', {
      eventSourceArn: this.stream.arn,
      functionName: this.function.arn,
      startingPosition: eventSource.startingPosition,
      batchSize: eventSource.batchSize,
      maximumBatchingWindowInSeconds: eventSource.maximumBatchingWindowInSeconds,
      bisectBatchOnFunctionError: eventSource.bisectBatchOnFunctionError,
      maximumRetryAttempts: eventSource.maximumRetryAttempts,
      maximumRecordAgeInSeconds: eventSource.maximumRecordAgeInSeconds,
      parallelizationFactor: eventSource.parallelizationFactor,
      functionResponseTypes: ['ReportBatchItemFailures'],
      destinationConfig: { onFailure: { destinationArn: this.failureDestination.bucket.arn } },
      dependsOn: [rolePolicy, this.failureDestination.rolePolicy],
    });

    this.addAlarms(stack, name, alarmCfg);

    const archiveProp = props.archive ?? env.archive;
    if (archiveProp !== false) {
      const settings = { ...ARCHIVE_DEFAULTS, ...(archiveProp === true ? {} : archiveProp) };
      [this.archiveBucket, this.archiveStream] = this.addArchive(stack, name, streamKeyArn, settings);
    }

    stack.api.addFamily({ family, streamName: name, streamArn: this.stream.arn, streamKeyArn });

    // Stable, readable output names (`stream_name_orders`) instead of construct-path hashes.
    const outputs: Array<[string, string, string]> = [
      ['stream_name', this.stream.name, `Kinesis stream of ${family.name}`],
      ['failure_bucket', this.failureDestination.bucket.bucket, `Failed records of ${family.name}, with their payload (npm run redrive)`],
      ['route', `${stack.api.url}/events/${family.name}`, `POST one ${family.name} event here; append /batch for up to 500`],
    ];
    for (const [id, value, description] of outputs) {
      new TerraformOutput(this, id, { value, description }).overrideLogicalId(`${id}_${family.name}`);
    }

    this.deployment = {
      family,
      stream: streamSettings,
      processor: processorSettings,
      eventSource,
      failureRetentionDays: this.failureDestination.retentionDays,
      tableAccess,
    };
    stack.registerFamily(this);
  }

  private addAlarms(stack: PipelineStack, name: string, cfg: AlarmSettings): void {
    const topic = stack.alarmTopic.arn;
    const alarm = (id: string, description: string, config: Omit<CloudwatchMetricAlarmConfig, 'alarmName' | 'alarmActions' | 'okActions'>) => {
      this.alarms.push(
        new CloudwatchMetricAlarm(this, `alarm-${id}`, {
          alarmName: `${name}-${id}`,
          alarmDescription: description,
          treatMissingData: 'notBreaching',
          alarmActions: [topic],
          okActions: [topic],
          ...config,
        }),
      );
    };
    const fn = { FunctionName: name };
    alarm('iterator-age', `The processor is more than ${cfg.iteratorAgeSeconds} s behind the stream.`, {
      namespace: 'AWS/Lambda',
      metricName: 'IteratorAge',
      dimensions: fn,
      statistic: 'Maximum',
      period: 60,
      // Three minutes in a row: one slow batch is not an incident.
      evaluationPeriods: 3,
      threshold: cfg.iteratorAgeSeconds * 1000,
      comparisonOperator: 'GreaterThanThreshold',
    });
    alarm('errors', 'The processor failed invocations (crashes or timeouts, not malformed events).', {
      namespace: 'AWS/Lambda',
      metricName: 'Errors',
      dimensions: fn,
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
    });
    alarm('throttles', 'The processor was throttled (reserved or account concurrency exhausted).', {
      namespace: 'AWS/Lambda',
      metricName: 'Throttles',
      dimensions: fn,
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
    });
    alarm('write-throughput-exceeded', 'Writes to the stream were throttled: add shards or switch to on-demand.', {
      namespace: 'AWS/Kinesis',
      metricName: 'WriteProvisionedThroughputExceeded',
      dimensions: { StreamName: name },
      statistic: 'Sum',
      period: 60,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
    });
    alarm('malformed-rate', `More than ${cfg.malformedPercent} % of incoming events are malformed.`, {
      threshold: cfg.malformedPercent,
      comparisonOperator: 'GreaterThanThreshold',
      evaluationPeriods: 1,
      metricQuery: [
        {
          id: 'malformed',
          metric: {
            namespace: stack.metricsNamespace,
            metricName: MALFORMED_METRIC,
            dimensions: { service: this.family.name, family: this.family.name },
            stat: 'Sum',
            period: 300,
          },
        },
        {
          id: 'incoming',
          metric: { namespace: 'AWS/Kinesis', metricName: 'IncomingRecords', dimensions: { StreamName: name }, stat: 'Sum', period: 300 },
        },
        {
          id: 'rate',
          label: 'Malformed events (%)',
          expression: 'IF(incoming > 0, 100 * FILL(malformed, 0) / incoming, 0)',
          returnData: true,
        },
      ],
    });
  }

  private addArchive(
    stack: PipelineStack,
    name: string,
    streamKeyArn: string | undefined,
    settings: ArchiveSettings,
  ): [S3Bucket, KinesisFirehoseDeliveryStream] {
    const bucket = new S3Bucket(this, 'archive-bucket', {
      // Bucket names are global and have no underscores; the provider appends a unique suffix.
      bucketPrefix: `${name.replace(/_/g, '-')}-archive-`.slice(0, 37),
      forceDestroy: false,
    });
    new S3BucketPublicAccessBlock(this, 'archive-public-access', {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'archive-ownership', { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } });
    new S3BucketServerSideEncryptionConfigurationA(this, 'archive-encryption', {
      bucket: bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: stack.key.arn }, bucketKeyEnabled: true }],
    });
    new S3BucketLifecycleConfiguration(this, 'archive-lifecycle', {
      bucket: bucket.id,
      rule: [
        {
          id: 'tiering',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          transition: [
            { days: 30, storageClass: 'STANDARD_IA' },
            { days: 90, storageClass: 'GLACIER' },
          ],
          expiration: [{ days: 365 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
    });
    new S3BucketPolicy(this, 'archive-bucket-policy', {
      bucket: bucket.id,
      policy: policyDocument(this, 'archive-bucket-policy-document', [
        denyInsecureTransport(['s3:*'], [bucket.arn, `${bucket.arn}/*`]),
      ]).json,
    });

    // Firehose assumes its role with the account id as external id (Amazon Data Firehose Developer Guide,
    // "Controlling access with Amazon Data Firehose": the trust policy's sts:ExternalId condition).
    const role = serviceRole(this, 'archive-role', `${name}-archive`, 'firehose.amazonaws.com', [
      { test: 'StringEquals', variable: 'sts:ExternalId', values: [stack.accountId] },
    ]);
    const policy = new IamRolePolicy(this, 'archive-role-policy', {
      role: role.id,
      name: 'archive',
      policy: policyDocument(this, 'archive-role-policy-document', [
        {
          sid: 'ReadOwnStream',
          effect: 'Allow',
          actions: ['kinesis:DescribeStream', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards'],
          resources: [this.stream.arn],
        },
        {
          sid: 'WriteArchive',
          effect: 'Allow',
          actions: ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:GetObject', 's3:ListBucket', 's3:ListBucketMultipartUploads', 's3:PutObject'],
          resources: [bucket.arn, `${bucket.arn}/*`],
        },
        {
          // The archive objects are SSE-KMS (multipart uploads need Decrypt too), and so is the stream with a customer key.
          sid: 'UseEnvironmentKey',
          effect: 'Allow',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [stack.key.arn],
        },
      ]).json,
    });
    const partition = 'year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/';
    const delivery = new KinesisFirehoseDeliveryStream(this, 'archive', {
      name: `${name}-archive`,
      destination: 'extended_s3',
      kinesisSourceConfiguration: { kinesisStreamArn: this.stream.arn, roleArn: role.arn },
      extendedS3Configuration: {
        bucketArn: bucket.arn,
        roleArn: role.arn,
        bufferingSize: settings.bufferingSizeMb,
        bufferingInterval: settings.bufferingIntervalSeconds,
        compressionFormat: 'GZIP',
        prefix: `events/${partition}`,
        errorOutputPrefix: `errors/${partition}!{firehose:error-output-type}/`,
        kmsKeyArn: stack.key.arn,
      },
      dependsOn: [policy],
    });
    return [bucket, delivery];
  }
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

/** Adds the `family` tag to every taggable resource of a family (the provider adds project and environment). */
class FamilyTags implements IAspect {
  constructor(private readonly family: string) {}

  visit(node: IConstruct): void {
    // tagsInput is the plain map set so far (tags itself reads back as a Terraform reference).
    const taggable = node as unknown as { tags?: Record<string, string>; tagsInput?: Record<string, string> };
    if (node instanceof TerraformResource && 'tagsInput' in taggable) {
      taggable.tags = { ...(taggable.tagsInput ?? {}), family: this.family };
    }
  }
}
