/**
 * One Terraform stack per environment: provider, state backend, the shared
 * resources every family uses (table, alert bus, topics, key) and the API.
 * The stack is the FamilyHost of its families: `new EventFamily(stack, name,
 * { host: stack, family })` registers itself, so the API routes, the dashboard
 * and deployment() follow automatically.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { CloudwatchEventBus } from '@cdktf/provider-aws/lib/cloudwatch-event-bus/index.js';
import type { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { pagingAlarm } from './alarm.js';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition/index.js';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table/index.js';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy/index.js';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription/index.js';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue/index.js';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy/index.js';
import { S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { alertRules, routeAlertsToTopic } from './alert-routing.js';
import type { PipelineDeployment } from './deployment.js';
import { PROJECT, prefix, type EnvironmentConfig } from './environments.js';
import type { EventFamily, FamilyHost } from './event-family.js';
import { PipelineDashboard } from './dashboard.js';
import { EventsApi } from './events-api.js';
import { denyInsecureTransport, policyDocument, type Statement } from './iam.js';

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

/** SQS's longest retention: a message nobody has looked at yet must outlive any investigation. */
export const FOURTEEN_DAYS = 14 * 24 * 3600;

/** Who publishes to a topic, and the conditions that service documents it supplies to SNS. */
interface TopicPublisher {
  readonly service: string;
  readonly conditions: NonNullable<Statement['condition']>;
}

export class PipelineStack extends TerraformStack implements FamilyHost {
  readonly environment: EnvironmentConfig;
  /** `event-flow-<env>`: the prefix of every resource name. */
  readonly namePrefix: string;
  readonly accountId: string;
  /** `aws`, `aws-cn` or `aws-us-gov`, from data.aws_partition: every ARN this stack writes starts with it. */
  readonly partition: string;
  readonly metricsNamespace: string;
  /** Encrypts event data: dead-letter queues, archives and (where chosen) streams. Only IAM roles use it. */
  readonly key: KmsKey;
  /**
   * Encrypts notifications only (the alarm and alert topics and the alert-delivery
   * queue), so the services that publish them can be let in without conditions
   * they do not supply, and still reach no event data.
   */
  readonly notificationKey: KmsKey;
  /** Alerts EventBridge could not deliver to the alerts topic, kept for 14 days. */
  readonly alertDeliveryQueue: SqsQueue;
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

    this.configureProvider(offline);
    this.configureBackend();
    this.accountId = offline ? OFFLINE_ACCOUNT_ID : new DataAwsCallerIdentity(this, 'caller').accountId;
    this.partition = new DataAwsPartition(this, 'partition').partition;
    this.key = this.createDataKey();
    this.notificationKey = this.createNotificationKey();
    this.table = this.createTable();
    const alertBusName = `${namePrefix}-alerts`;
    this.alertBus = new CloudwatchEventBus(this, 'alert-bus', { name: alertBusName });
    // Plain names, not tokens: local mode reads them without Terraform.
    this.deploymentNames = { tableName: namePrefix, alertBusName };
    this.alarmTopic = this.createAlarmTopic();
    ({ alertTopic: this.alertTopic, alertDeliveryQueue: this.alertDeliveryQueue } = this.routeAlerts());
    this.api = new EventsApi(this, 'api', {
      environment,
      namePrefix,
      accountId: this.accountId,
      partition: this.partition,
      alarmTopicArn: this.alarmTopic.arn,
    });
    new PipelineDashboard(this, 'dashboard');
    this.addOutputs();
  }

  private configureProvider(offline: boolean): void {
    new AwsProvider(this, 'aws', {
      region: this.environment.region,
      defaultTags: [{ tags: { project: PROJECT, environment: this.environment.name, 'managed-by': 'cdktf' } }],
      ...(offline
        ? { skipCredentialsValidation: true, skipRequestingAccountId: true, skipMetadataApiCheck: 'true', accessKey: 'offline', secretKey: 'offline' }
        : {}),
    });
  }

  private createDataKey(): KmsKey {
    const key = new KmsKey(this, 'key', {
      description: `${this.namePrefix}: failure records, topics, archives and (where chosen) streams`,
      enableKeyRotation: true,
      // The longest window: a key deleted by mistake can be recovered for 30 days.
      deletionWindowInDays: 30,
      policy: this.keyPolicy('key-policy', []),
    });
    new KmsAlias(this, 'key-alias', { name: `alias/${this.namePrefix}`, targetKeyId: key.keyId });
    return key;
  }

  private createNotificationKey(): KmsKey {
    const key = new KmsKey(this, 'notification-key', {
      description: `${this.namePrefix}: alarm and alert topics, and alerts EventBridge could not deliver`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: this.keyPolicy('notification-key-policy', [
        // The statement of the SNS Developer Guide, "Enable compatibility between event sources from AWS
        // services and encrypted topics", one per publishing service. No aws:SourceAccount/aws:SourceArn:
        // EventBridge does not supply them to KMS when it publishes to an encrypted topic, so such a condition
        // silently drops every alert. The scope is the key itself: it encrypts notifications and nothing else.
        this.serviceUsesKey('CloudWatchAlarmsPublishToAlarmTopic', 'cloudwatch.amazonaws.com'),
        this.serviceUsesKey('EventBridgeDeliversAlerts', 'events.amazonaws.com'),
      ]),
    });
    new KmsAlias(this, 'notification-key-alias', { name: `alias/${this.namePrefix}-notifications`, targetKeyId: key.keyId });
    return key;
  }

  private createTable(): DynamodbTable {
    return new DynamodbTable(this, 'table', {
      name: this.namePrefix,
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
      deletionProtectionEnabled: this.environment.tableDeletionProtection,
    });
  }

  private createAlarmTopic(): SnsTopic {
    return this.topic('alarm-topic', `${this.namePrefix}-alarms`, {
      service: 'cloudwatch.amazonaws.com',
      // CloudWatch documents both keys for alarm actions (confused-deputy prevention for SNS topics).
      conditions: [
        { test: 'StringEquals', variable: 'aws:SourceAccount', values: [this.accountId] },
        {
          test: 'ArnLike',
          variable: 'aws:SourceArn',
          values: [`arn:${this.partition}:cloudwatch:${this.environment.region}:${this.accountId}:alarm:${this.namePrefix}-*`],
        },
      ],
    });
  }

  /** The alert bus's two rules, to the alerts topic, with a dead-letter queue and alarms for what they cannot deliver. */
  private routeAlerts(): { alertTopic: SnsTopic; alertDeliveryQueue: SqsQueue } {
    const namePrefix = this.namePrefix;
    const busName = this.deploymentNames.alertBusName;
    const rules = alertRules(this, { namePrefix, busName: this.alertBus.name, accountId: this.accountId });
    // EventBridge puts the rule's ARN in aws:SourceArn when it publishes to SNS or sends to SQS
    // (EventBridge User Guide, "Using resource-based policies for Amazon EventBridge").
    const fromAlertRules = [{ test: 'ArnEquals', variable: 'aws:SourceArn', values: [rules.alerts.arn, rules.malformed.arn] }];
    const alertTopic = this.topic('alert-topic', `${namePrefix}-alerts`, { service: 'events.amazonaws.com', conditions: fromAlertRules });
    const alertDeliveryQueue = this.alertDeliveryDeadLetterQueue(`${namePrefix}-alert-delivery-dlq`, fromAlertRules);
    routeAlertsToTopic(this, rules, { busName: this.alertBus.name, topicArn: alertTopic.arn, deadLetterQueueArn: alertDeliveryQueue.arn });
    this.alertDeliveryAlarms(busName, [rules.alerts, rules.malformed], alertDeliveryQueue.name);
    return { alertTopic, alertDeliveryQueue };
  }

  private addOutputs(): void {
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
   * A key policy: the account administers the key through IAM (the AWS default
   * key policy; without it the key becomes unmanageable), plus the given service
   * statements. Key policies are the one place where Resource "*" is required:
   * it means "this key".
   */
  private keyPolicy(id: string, services: Statement[]): string {
    return policyDocument(this, id, [
      {
        sid: 'AccountAdministersKeyThroughIam',
        effect: 'Allow',
        principals: [{ type: 'AWS', identifiers: [`arn:${this.partition}:iam::${this.accountId}:root`] }],
        actions: ['kms:*'],
        resources: ['*'],
      },
      ...services,
    ]).json;
  }

  private serviceUsesKey(sid: string, service: string): Statement {
    return { sid, effect: 'Allow', principals: [{ type: 'Service', identifiers: [service] }], actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resources: ['*'] };
  }

  private topic(id: string, name: string, publisher: TopicPublisher): SnsTopic {
    const topic = new SnsTopic(this, id, { name, kmsMasterKeyId: this.notificationKey.arn });
    new SnsTopicPolicy(this, `${id}-policy`, {
      arn: topic.arn,
      policy: policyDocument(this, `${id}-policy-document`, [
        {
          sid: 'ServicePublishes',
          effect: 'Allow',
          principals: [{ type: 'Service', identifiers: [publisher.service] }],
          actions: ['sns:Publish'],
          resources: [topic.arn],
          condition: publisher.conditions,
        },
        denyInsecureTransport(['sns:Publish', 'sns:Subscribe'], [topic.arn]),
      ]).json,
    });
    if (this.environment.alertEmail) {
      new SnsTopicSubscription(this, `${id}-email`, { topicArn: topic.arn, protocol: 'email', endpoint: this.environment.alertEmail });
    }
    return topic;
  }

  /** The queue EventBridge sends an alert to when the topic refused it or stayed unreachable for 24 hours. */
  private alertDeliveryDeadLetterQueue(name: string, fromAlertRule: NonNullable<Statement['condition']>): SqsQueue {
    const queue = new SqsQueue(this, 'alert-delivery-dlq', {
      name,
      messageRetentionSeconds: FOURTEEN_DAYS,
      kmsMasterKeyId: this.notificationKey.arn,
      kmsDataKeyReusePeriodSeconds: 300,
    });
    new SqsQueuePolicy(this, 'alert-delivery-dlq-policy', {
      queueUrl: queue.url,
      policy: policyDocument(this, 'alert-delivery-dlq-policy-document', [
        {
          sid: 'AlertRuleSendsUndelivered',
          effect: 'Allow',
          principals: [{ type: 'Service', identifiers: ['events.amazonaws.com'] }],
          actions: ['sqs:SendMessage'],
          resources: [queue.arn],
          condition: fromAlertRule,
        },
        denyInsecureTransport(['sqs:*'], [queue.arn]),
      ]).json,
    });
    return queue;
  }

  /** Nobody reads the DLQ unprompted: a failed delivery and a non-empty queue each page the alarm topic. */
  private alertDeliveryAlarms(busName: string, rules: readonly CloudwatchEventRule[], queueName: string): void {
    const common = {
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
    };
    for (const rule of rules) {
      // nameInput: the literal name (rule.name is a Terraform reference), so alarms and dimensions read plainly.
      const ruleName = rule.nameInput!;
      pagingAlarm(this, `alarm-${rule.friendlyUniqueId}-failed`, this.alarmTopic.arn, {
        ...common,
        alarmName: `${ruleName}-delivery-failed`,
        alarmDescription: `EventBridge could not deliver what rule ${ruleName} forwards to the alerts topic (it goes to the alert-delivery DLQ).`,
        namespace: 'AWS/Events',
        metricName: 'FailedInvocations',
        // Rules on a custom bus report per bus and rule.
        dimensions: { EventBusName: busName, RuleName: ruleName },
        statistic: 'Sum',
      });
    }
    pagingAlarm(this, 'alarm-alert-delivery-dlq-depth', this.alarmTopic.arn, {
      ...common,
      alarmName: `${this.namePrefix}-alert-delivery-dlq-depth`,
      alarmDescription: 'Alerts wait in the alert-delivery DLQ: read them there, fix the topic, redrive.',
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: queueName },
      statistic: 'Maximum',
      period: 60,
    });
  }
}
