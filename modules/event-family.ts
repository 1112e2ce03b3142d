/**
 * THE module: everything one event family needs in one environment. A family
 * is one `new EventFamily(stack, family.name, { host: stack, family })` line; the
 * stream, processor, mapping, failure destination, alarms, optional archive and
 * the API routes follow from its definition and the host's defaults. Each step
 * is a builder in modules/family/, creating its resources with this construct
 * as their scope (so their logical ids are the construct paths they always had).
 */
import type { CloudwatchEventBus } from '@cdktf/provider-aws/lib/cloudwatch-event-bus/index.js';
import type { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import type { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import type { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table/index.js';
import type { KinesisFirehoseDeliveryStream } from '@cdktf/provider-aws/lib/kinesis-firehose-delivery-stream/index.js';
import type { KinesisStream } from '@cdktf/provider-aws/lib/kinesis-stream/index.js';
import type { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import type { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping/index.js';
import type { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import type { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import type { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js';
import { Aspects } from 'cdktf';
import { Construct } from 'constructs';
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import type { BundleArchive } from './bundle-archive.js';
import type { FamilyDeployment } from './deployment.js';
import type { EnvironmentConfig } from './environments.js';
import type { EventsApi } from './events-api.js';
import type { FailureDestination } from './failure-destination.js';
import { buildAlarms } from './family/alarms.js';
import { buildArchive } from './family/archive.js';
import { buildOutputs } from './family/outputs.js';
import { buildProcessor } from './family/processor.js';
import { resolveFamilySettings, type FamilyOptions } from './family/settings.js';
import { buildStream } from './family/stream.js';
import { FamilyTags } from './family/tags.js';

export { MALFORMED_METRIC } from './family/alarms.js';
export { ALARM_DEFAULTS, ARCHIVE_DEFAULTS, EVENT_SOURCE_DEFAULTS, type AlarmSettings, type ArchiveSettings, type FamilyOptions } from './family/settings.js';
export { PROCESSOR_TABLE_ACTIONS } from './table-access.js';

/**
 * What the families of one environment share. PipelineStack is one; the family
 * reads these and nothing else of it.
 */
export interface FamilyHost {
  /** The environment's defaults every family starts from. */
  readonly environment: EnvironmentConfig;
  /** `<project>-<env>`: resource names are `<namePrefix>-<family>`. */
  readonly namePrefix: string;
  readonly accountId: string;
  /** Where the processors publish their EMF metrics. */
  readonly metricsNamespace: string;
  /** The environment key (failure objects, archives, customer-keyed streams). */
  readonly key: KmsKey;
  readonly table: DynamodbTable;
  readonly alertBus: CloudwatchEventBus;
  /** Where every alarm notifies. */
  readonly alarmTopic: SnsTopic;
  /** The events API the family's routes are added to. */
  readonly api: Pick<EventsApi, 'addFamily' | 'url'>;
  /** Plain names of the table and the alert bus, for local mode. */
  readonly deploymentNames: { readonly tableName: string; readonly alertBusName: string };
  /** Records the family, so the host's deployment record and dashboard list it. */
  registerFamily(family: EventFamily): void;
}

export interface EventFamilyProps extends FamilyOptions {
  /** The family's definition (handlers/<family>/family.ts). */
  readonly family: FamilyDefinition;
  /** The shared resources and defaults of the family's environment. */
  readonly host: FamilyHost;
}

export class EventFamily extends Construct {
  readonly family: FamilyDefinition;
  readonly stream: KinesisStream;
  readonly function: LambdaFunction;
  readonly eventSourceMapping: LambdaEventSourceMapping;
  readonly failureDestination: FailureDestination;
  readonly logGroup: CloudwatchLogGroup;
  readonly alarms: readonly CloudwatchMetricAlarm[];
  readonly archiveStream?: KinesisFirehoseDeliveryStream;
  readonly archiveBucket?: S3Bucket;
  /** The processor's deployment package. */
  readonly bundleArchive: BundleArchive;
  /** The resolved settings, as local mode consumes them. */
  readonly deployment: FamilyDeployment;

  /** @param id the construct id; `family.name` keeps logical ids stable (modules/app.ts uses it). */
  constructor(scope: Construct, id: string, props: EventFamilyProps) {
    super(scope, id);
    const { family, host } = props;
    this.family = family;
    const name = `${host.namePrefix}-${family.name}`;
    const settings = resolveFamilySettings(family, host.environment, props);
    Aspects.of(this).add(new FamilyTags(family.name));

    const streamKeyArn = settings.stream.customerKey ? host.key.arn : undefined;
    const stream = buildStream(this, { name, settings: settings.stream, keyArn: streamKeyArn });
    this.stream = stream.stream;

    const processor = buildProcessor(this, {
      name,
      family,
      environmentName: host.environment.name,
      region: host.environment.region,
      accountId: host.accountId,
      settings,
      streamArn: this.stream.arn,
      key: host.key,
      table: host.table,
      alertBus: host.alertBus,
      localNames: host.deploymentNames,
      metricsNamespace: host.metricsNamespace,
      alarmTopicArn: host.alarmTopic.arn,
    });
    this.logGroup = processor.logGroup;
    this.failureDestination = processor.failureDestination;
    this.function = processor.function;
    this.eventSourceMapping = processor.eventSourceMapping;
    this.bundleArchive = processor.bundleArchive;

    this.alarms = [
      this.failureDestination.alarm,
      ...buildAlarms(this, { name, familyName: family.name, metricsNamespace: host.metricsNamespace, alarmTopicArn: host.alarmTopic.arn, settings: settings.alarms }),
    ];

    if (settings.archive) {
      const archive = buildArchive(this, { name, streamArn: this.stream.arn, keyArn: host.key.arn, accountId: host.accountId, settings: settings.archive });
      this.archiveBucket = archive.bucket;
      this.archiveStream = archive.deliveryStream;
    }

    host.api.addFamily({ family, streamName: name, streamArn: this.stream.arn, streamKeyArn });
    buildOutputs(this, { familyName: family.name, streamName: this.stream.name, failureBucketName: this.failureDestination.bucket.bucket, apiUrl: host.api.url });

    this.deployment = {
      family,
      stream: stream.settings,
      processor: processor.settings,
      eventSource: settings.eventSource,
      failureRetentionDays: this.failureDestination.retentionDays,
      tableAccess: processor.tableAccess,
    };
    host.registerFamily(this);
  }
}
