/**
 * One Terraform stack per environment: provider, state backend, the shared
 * resources every family uses (table, alert bus, topics, key) and the API.
 * Families are added with `new EventFamily(stack, { family })` and register
 * themselves, so the API routes and deployment() follow automatically.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { CloudwatchEventBus } from '@cdktf/provider-aws/lib/cloudwatch-event-bus/index.js';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table/index.js';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy/index.js';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription/index.js';
import { Fn, S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import type { PipelineDeployment } from './deployment.js';
import { PROJECT, prefix, type EnvironmentConfig } from './environments.js';
import type { EventFamily } from './event-family.js';
import { PipelineDashboard } from './dashboard.js';
import { EventsApi } from './events-api.js';
import { denyInsecureTransport, policyDocument } from './iam.js';

/** Attribute of every table item holding its expiry (epoch seconds). */
export const TTL_ATTRIBUTE = 'expiresAt';

/**
 * `EVENT_FLOW_OFFLINE_PLAN=1` configures the provider so `terraform plan` runs
 * with dummy credentials and no network (a check of the whole graph, not a deploy).
 */
export function offlinePlan(): boolean {
  return process.env.EVENT_FLOW_OFFLINE_PLAN === '1';
}

/** AWS's documentation example account; only ever used by an offline plan. */
const OFFLINE_ACCOUNT_ID = '123456789012';

export class PipelineStack extends TerraformStack {
  readonly environment: EnvironmentConfig;
  /** `event-flow-<env>`: the prefix of every resource name. */
  readonly namePrefix: string;
  readonly accountId: string;
  readonly metricsNamespace: string;
  readonly key: KmsKey;
  readonly table: DynamodbTable;
  readonly alertBus: CloudwatchEventBus;
  readonly alertTopic: SnsTopic;
  readonly alarmTopic: SnsTopic;
  readonly api: EventsApi;
  /** Plain names (not Terraform references) for deployment(). */
  readonly deploymentNames: { readonly tableName: string; readonly alertBusName: string };
  private readonly families: EventFamily[] = [];

  constructor(scope: Construct, environment: EnvironmentConfig) {
    const namePrefix = prefix(environment);
    super(scope, namePrefix);
    this.environment = environment;
    this.namePrefix = namePrefix;
    this.metricsNamespace = `EventFlow/${environment.name}`;
    const offline = offlinePlan();

    new AwsProvider(this, 'aws', {
      region: environment.region,
      defaultTags: [{ tags: { project: PROJECT, environment: environment.name, 'managed-by': 'cdktf' } }],
      ...(offline
        ? { skipCredentialsValidation: true, skipRequestingAccountId: true, skipMetadataApiCheck: 'true', accessKey: 'offline', secretKey: 'offline' }
        : {}),
    });
    this.configureBackend();

    this.accountId = offline ? OFFLINE_ACCOUNT_ID : new DataAwsCallerIdentity(this, 'caller').accountId;

    this.key = new KmsKey(this, 'key', {
      description: `${namePrefix}: dead-letter queues, topics, archives and (where chosen) streams`,
      enableKeyRotation: true,
      // The longest window: a key deleted by mistake can be recovered for 30 days.
      deletionWindowInDays: 30,
      policy: this.keyPolicy(),
    });
    new KmsAlias(this, 'key-alias', { name: `alias/${namePrefix}`, targetKeyId: this.key.keyId });

    const tableName = namePrefix;
    this.table = new DynamodbTable(this, 'table', {
      name: tableName,
      // On demand: the pipeline scales to zero between bursts, and nobody has to forecast capacity.
      billingMode: 'PAY_PER_REQUEST',
      hashKey: 'pk',
      rangeKey: 'sk',
      attribute: [
        { name: 'pk', type: 'S' },
        { name: 'sk', type: 'S' },
      ],
      ttl: { attributeName: TTL_ATTRIBUTE, enabled: true },
      pointInTimeRecovery: { enabled: true },
      // Encrypted with the AWS-managed DynamoDB key: callers then need no KMS permissions of their own.
      serverSideEncryption: { enabled: true },
      deletionProtectionEnabled: environment.tableDeletionProtection,
    });

    const busName = `${namePrefix}-alerts`;
    this.alertBus = new CloudwatchEventBus(this, 'alert-bus', { name: busName });
    this.deploymentNames = { tableName, alertBusName: busName };

    this.alarmTopic = this.topic('alarm-topic', `${namePrefix}-alarms`, 'cloudwatch.amazonaws.com');
    this.alertTopic = this.topic('alert-topic', `${namePrefix}-alerts`, 'events.amazonaws.com');

    const rule = new CloudwatchEventRule(this, 'alert-rule', {
      name: `${namePrefix}-alerts-to-sns`,
      description: 'Every alert and malformed-event notice the processors publish goes to the alerts topic.',
      eventBusName: this.alertBus.name,
      // Matching on the account matches every event on this bus: the bus only carries alerts.
      // jsonencode() rather than JSON.stringify: the account id is a Terraform reference.
      eventPattern: Fn.jsonencode({ account: [this.accountId] }),
    });
    new CloudwatchEventTarget(this, 'alert-target', {
      rule: rule.name,
      eventBusName: this.alertBus.name,
      arn: this.alertTopic.arn,
    });

    this.api = new EventsApi(this, 'api', {
      environment,
      namePrefix,
      accountId: this.accountId,
      alarmTopicArn: this.alarmTopic.arn,
    });

    new PipelineDashboard(this, 'dashboard');
    new TerraformOutput(this, 'api_url', { value: this.api.url, description: 'Base URL; POST /events/<family> and /events/<family>/batch' });
    new TerraformOutput(this, 'table_name', { value: this.table.name });
    new TerraformOutput(this, 'alert_bus_name', { value: this.alertBus.name });
    new TerraformOutput(this, 'alarm_topic_arn', { value: this.alarmTopic.arn });
    new TerraformOutput(this, 'alert_topic_arn', { value: this.alertTopic.arn });
  }

  /** Called by EventFamily; not for users. */
  registerFamily(family: EventFamily): void {
    if (this.families.some((f) => f.family.name === family.family.name)) {
      throw new Error(`family "${family.family.name}" is added twice to ${this.namePrefix}`);
    }
    this.families.push(family);
  }

  get eventFamilies(): readonly EventFamily[] {
    return this.families;
  }

  /** Every family's resolved settings, for local mode. */
  deployment(): PipelineDeployment {
    return {
      project: PROJECT,
      environment: this.environment.name,
      region: this.environment.region,
      tableName: this.deploymentNames.tableName,
      tableTtlAttribute: TTL_ATTRIBUTE,
      alertBusName: this.deploymentNames.alertBusName,
      api: this.api.settings,
      families: this.families.map((f) => f.deployment),
    };
  }

  /**
   * Remote state when `EVENT_FLOW_STATE_BUCKET` is set (S3, encrypted, with
   * S3-native locking, or a DynamoDB lock table when `EVENT_FLOW_STATE_LOCK_TABLE`
   * is set); local state otherwise.
   */
  private configureBackend(): void {
    const bucket = process.env.EVENT_FLOW_STATE_BUCKET;
    if (!bucket) return;
    const lockTable = process.env.EVENT_FLOW_STATE_LOCK_TABLE;
    const backend = new S3Backend(this, {
      bucket,
      key: `${process.env.EVENT_FLOW_STATE_PREFIX ?? PROJECT}/${this.environment.name}/terraform.tfstate`,
      region: process.env.EVENT_FLOW_STATE_REGION ?? this.environment.region,
      encrypt: true,
      dynamodbTable: lockTable || undefined,
    });
    // Terraform >= 1.10 locks with a lock object next to the state; cdktf 0.21 has no typed field for it.
    if (!lockTable) backend.addOverride('use_lockfile', true);
  }

  /**
   * The environment key's policy. Key policies are the one place where
   * Resource "*" is required (it means "this key"); the account keeps
   * administration through IAM, and the two services that publish to the
   * encrypted topics may use the key for exactly that.
   */
  private keyPolicy(): string {
    return policyDocument(this, 'key-policy', [
      {
        sid: 'AccountAdministersKeyThroughIam',
        effect: 'Allow',
        principals: [{ type: 'AWS', identifiers: [`arn:aws:iam::${this.accountId}:root`] }],
        actions: ['kms:*'],
        resources: ['*'],
      },
      {
        sid: 'AlarmsAndAlertsPublishToEncryptedTopics',
        effect: 'Allow',
        principals: [{ type: 'Service', identifiers: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] }],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [this.accountId] }],
      },
    ]).json;
  }

  private topic(id: string, name: string, publisher: string): SnsTopic {
    const topic = new SnsTopic(this, id, { name, kmsMasterKeyId: this.key.arn });
    new SnsTopicPolicy(this, `${id}-policy`, {
      arn: topic.arn,
      policy: policyDocument(this, `${id}-policy-document`, [
        {
          sid: 'ServicePublishes',
          effect: 'Allow',
          principals: [{ type: 'Service', identifiers: [publisher] }],
          actions: ['sns:Publish'],
          resources: [topic.arn],
          condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [this.accountId] }],
        },
        denyInsecureTransport(['sns:Publish', 'sns:Subscribe'], [topic.arn]),
      ]).json,
    });
    if (this.environment.alertEmail) {
      new SnsTopicSubscription(this, `${id}-email`, { topicArn: topic.arn, protocol: 'email', endpoint: this.environment.alertEmail });
    }
    return topic;
  }
}
