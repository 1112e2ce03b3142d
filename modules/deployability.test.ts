/**
 * Issue 9, findings 1-9: what would deploy but not work on AWS (or not deploy
 * at all), each checked on the synthesized Terraform JSON. The AWS rules these
 * findings break, with their sources, are in modules/aws-rules.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Testing } from 'cdktf';
import * as dynamodb from '@aws-sdk/client-dynamodb';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES } from '../handlers/families.js';
import { addFamilies } from './app.js';
import { ENVIRONMENTS, ENVIRONMENT_NAMES, accountSettingsOwners, type EnvironmentName } from './environments.js';
import { ApiGatewayIntegration } from '@cdktf/provider-aws/lib/api-gateway-integration/index.js';
import { ApiGatewayGatewayResponse } from '@cdktf/provider-aws/lib/api-gateway-gateway-response/index.js';
import { ApiGatewayMethod } from '@cdktf/provider-aws/lib/api-gateway-method/index.js';
import { ApiGatewayModel } from '@cdktf/provider-aws/lib/api-gateway-model/index.js';
import { ApiGatewayRequestValidator } from '@cdktf/provider-aws/lib/api-gateway-request-validator/index.js';
import { ApiGatewayIntegrationResponse } from '@cdktf/provider-aws/lib/api-gateway-integration-response/index.js';
import { ApiGatewayMethodResponse } from '@cdktf/provider-aws/lib/api-gateway-method-response/index.js';
import { fromTfLiteral } from './iam.js';
import { eventModel } from './models.js';
import { PipelineStack } from './pipeline-stack.js';
import { named, one, policyDoc, ref, resources, synthesizeApp, synthJson, type Block, type TfJson } from '../test/support/synthesized.js';
import { userActivity } from '../handlers/user_activity/family.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
let tf: Record<EnvironmentName, TfJson>;
let stacks: PipelineStack[];

beforeAll(() => {
  ({ stacks, tf } = synthesizeApp());
});

const statementsOf = (t: TfJson, reference: string): Block[] => policyDoc(t, reference).statement as Block[];

describe.each(ENVIRONMENT_NAMES)('finding 1 (%s): alerts reach the encrypted topic, and a failed delivery is kept and alarmed', (env) => {
  const t = () => tf[env];
  const alertTopic = () => named(t(), 'aws_sns_topic', `event-flow-${env}-alerts`);
  const alertRuleArns = () =>
    [`event-flow-${env}-alerts-to-sns`, `event-flow-${env}-malformed-to-sns`].map((rule) => ref('aws_cloudwatch_event_rule', named(t(), 'aws_cloudwatch_event_rule', rule)[0], 'arn'));

  it('the key of the alerts topic lets EventBridge use it with no source condition (EventBridge supplies none to KMS for SNS)', () => {
    const [, topic] = alertTopic();
    const keyId = /aws_kms_key\.([^.]+)\.arn/.exec(topic.kms_master_key_id)![1]!;
    const key = t().resource.aws_kms_key![keyId]!;
    const forEvents = statementsOf(t(), key.policy).filter((s) =>
      (s.principals as Block[] | undefined)?.some((p) => p.type === 'Service' && p.identifiers.includes('events.amazonaws.com')),
    );
    expect(forEvents).toHaveLength(1);
    expect(forEvents[0]!.principals).toEqual([{ type: 'Service', identifiers: ['events.amazonaws.com'] }]);
    expect(forEvents[0]!.actions).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']));
    expect(forEvents[0]!.condition).toBeUndefined();
  });

  it('that key encrypts only notifications (topics and the alert-delivery queue), never event data', () => {
    const [, topic] = alertTopic();
    const notificationKey = topic.kms_master_key_id as string;
    const users = (type: string, field: string) => resources(t(), type).filter(([, b]) => b[field] === notificationKey).map(([, b]) => b.name);
    expect(users('aws_sns_topic', 'kms_master_key_id').sort()).toEqual([`event-flow-${env}-alarms`, `event-flow-${env}-alerts`]);
    expect(users('aws_sqs_queue', 'kms_master_key_id')).toEqual([`event-flow-${env}-alert-delivery-dlq`]);
    expect(users('aws_kinesis_stream', 'kms_key_id')).toEqual([]);
    // The data key names no service principal at all: only IAM roles of this account use it.
    const [, sse] = resources(t(), 'aws_s3_bucket_server_side_encryption_configuration')[0]!;
    const dataKeyArn = ((sse.rule as Block[])[0]!.apply_server_side_encryption_by_default as Block).kms_master_key_id as string;
    expect(dataKeyArn).not.toBe(notificationKey);
    const dataKeyId = /aws_kms_key\.([^.]+)\.arn/.exec(dataKeyArn)![1]!;
    const dataStatements = statementsOf(t(), t().resource.aws_kms_key![dataKeyId]!.policy);
    expect(dataStatements.flatMap((s) => (s.principals as Block[]).map((p) => p.type))).toEqual(['AWS']);
  });

  it('each rule target has an encrypted dead-letter queue that only the alert rules may send to, and bounded retries', () => {
    const ruleArns = alertRuleArns();
    const [dlqId, dlq] = named(t(), 'aws_sqs_queue', `event-flow-${env}-alert-delivery-dlq`);
    const targets = resources(t(), 'aws_cloudwatch_event_target');
    expect(targets).toHaveLength(2);
    for (const [, target] of targets) {
      expect(target.dead_letter_config).toEqual({ arn: ref('aws_sqs_queue', dlqId, 'arn') });
      expect(target.retry_policy).toMatchObject({ maximum_event_age_in_seconds: 86_400, maximum_retry_attempts: 185 });
    }
    expect(dlq.kms_master_key_id).toMatch(/^\$\{aws_kms_key\./);
    expect(dlq.message_retention_seconds).toBe(14 * 24 * 3600);
    const [, queuePolicy] = one(t(), 'aws_sqs_queue_policy', (b) => b.queue_url === ref('aws_sqs_queue', dlqId, 'url'));
    const statements = statementsOf(t(), queuePolicy.policy);
    expect(statements.find((s) => s.effect === 'Allow')).toMatchObject({
      principals: [{ type: 'Service', identifiers: ['events.amazonaws.com'] }],
      actions: ['sqs:SendMessage'],
      resources: [ref('aws_sqs_queue', dlqId, 'arn')],
      condition: [{ test: 'ArnEquals', variable: 'aws:SourceArn', values: ruleArns }],
    });
    expect(statements.find((s) => s.sid === 'DenyInsecureTransport')).toBeDefined();
  });

  it('alarms on each rule\'s FailedInvocations and on the dead-letter queue\'s depth, to the alarm topic', () => {
    const [alarmTopicId] = named(t(), 'aws_sns_topic', `event-flow-${env}-alarms`);
    for (const rule of [`event-flow-${env}-alerts-to-sns`, `event-flow-${env}-malformed-to-sns`]) {
      const failed = named(t(), 'aws_cloudwatch_metric_alarm', `${rule}-delivery-failed`, 'alarm_name')[1];
      expect(failed).toMatchObject({
        namespace: 'AWS/Events',
        metric_name: 'FailedInvocations',
        dimensions: { EventBusName: `event-flow-${env}-alerts`, RuleName: rule },
        statistic: 'Sum',
        threshold: 0,
        comparison_operator: 'GreaterThanThreshold',
        alarm_actions: [ref('aws_sns_topic', alarmTopicId, 'arn')],
      });
    }
    const depth = named(t(), 'aws_cloudwatch_metric_alarm', `event-flow-${env}-alert-delivery-dlq-depth`, 'alarm_name')[1];
    const [dlqId] = named(t(), 'aws_sqs_queue', `event-flow-${env}-alert-delivery-dlq`);
    expect(depth).toMatchObject({
      namespace: 'AWS/SQS',
      metric_name: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: ref('aws_sqs_queue', dlqId, 'name') },
      threshold: 0,
      alarm_actions: [ref('aws_sns_topic', alarmTopicId, 'arn')],
    });
  });

  it('the alerts topic policy lets exactly the alert rules publish (aws:SourceArn, which EventBridge supplies to SNS)', () => {
    const [topicId] = alertTopic();
    const [, policy] = one(t(), 'aws_sns_topic_policy', (b) => b.arn === ref('aws_sns_topic', topicId, 'arn'));
    expect(statementsOf(t(), policy.policy).find((s) => s.effect === 'Allow')).toMatchObject({
      principals: [{ type: 'Service', identifiers: ['events.amazonaws.com'] }],
      actions: ['sns:Publish'],
      condition: [{ test: 'ArnEquals', variable: 'aws:SourceArn', values: alertRuleArns() }],
    });
  });
});

describe('finding 2: reserved concurrency fits any account', () => {
  it.each(ENVIRONMENT_NAMES)('%s: each processor reserves at most shards × parallelization (what a Kinesis mapping can run), or nothing', (env) => {
    const config = ENVIRONMENTS[env];
    for (const [, fn] of resources(tf[env], 'aws_lambda_function')) {
      const reserved = fn.reserved_concurrent_executions as number | undefined;
      if (!config.processor.reserveConcurrency) {
        expect(reserved, fn.function_name).toBeUndefined();
      } else {
        expect(reserved, fn.function_name).toBe(config.stream.shardCount * config.eventSource.parallelizationFactor);
      }
    }
  });

  it('prod reserves 4 shards × 1 batch each = 4 per processor, 4 per family in all, instead of 50 each', () => {
    const reserved = resources(tf.prod, 'aws_lambda_function').map(([, fn]) => fn.reserved_concurrent_executions as number);
    expect(reserved).toEqual(FAMILIES.map(() => 4));
  });
});

describe('finding 3: one owner of the account-wide API Gateway settings', () => {
  it('by default exactly one environment (prod) manages aws_api_gateway_account, with reset_on_delete', () => {
    const owners = ENVIRONMENT_NAMES.filter((env) => resources(tf[env], 'aws_api_gateway_account').length > 0);
    expect(owners).toEqual(['prod']);
    const [, account] = one(tf.prod, 'aws_api_gateway_account', () => true);
    expect(account.reset_on_delete).toBe(true);
    // The other environments have neither the setting nor its role.
    for (const env of ['dev', 'staging'] as const) {
      expect(resources(tf[env], 'aws_iam_role').map(([, r]) => r.name)).not.toContain(`event-flow-${env}-apigateway-logs`);
    }
  });

  it('the owner is one setting: EVENT_FLOW_ACCOUNT_SETTINGS_OWNER names an environment, or "each" for one account per environment', () => {
    expect(accountSettingsOwners('dev')).toEqual(['dev']);
    expect(accountSettingsOwners('each')).toEqual(['dev', 'staging', 'prod']);
    expect(accountSettingsOwners(undefined)).toEqual(['prod']);
    expect(() => accountSettingsOwners('qa')).toThrow(/EVENT_FLOW_ACCOUNT_SETTINGS_OWNER/);
  });
});

describe('finding 4: every change API Gateway only serves after a redeployment triggers one', () => {
  it.each(ENVIRONMENT_NAMES)('%s: the deployment depends on every gateway response, method and integration response', (env) => {
    const [, deployment] = one(tf[env], 'aws_api_gateway_deployment', () => true);
    for (const type of ['aws_api_gateway_gateway_response', 'aws_api_gateway_integration', 'aws_api_gateway_integration_response']) {
      const all = resources(tf[env], type).map(([id]) => `${type}.${id}`);
      expect(all.length, type).toBeGreaterThan(0);
      expect(deployment.depends_on, type).toEqual(expect.arrayContaining(all));
    }
  });

  const trigger = (mutate: (stack: PipelineStack) => void): string => {
    const stack = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
    addFamilies(stack);
    mutate(stack);
    return one(synthJson(stack), 'aws_api_gateway_deployment', () => true)[1].triggers.redeployment;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const first = <T>(stack: PipelineStack, type: abstract new (...args: any[]) => T, where: (r: T) => boolean = () => true): T => {
    const found = stack.api.node.findAll().filter((c) => c instanceof type && where(c as unknown as T)) as unknown as T[];
    if (found.length === 0) throw new Error(`no ${type.name} in the API`);
    return found[0]!;
  };
  const awsIntegration = (s: PipelineStack) => first(s, ApiGatewayIntegration, (i) => i.typeInput === 'AWS');

  const changes: Record<string, (stack: PipelineStack) => void> = {
    'integration credentials': (s) => (awsIntegration(s).credentials = 'arn:aws:iam::123456789012:role/other'),
    'passthrough behaviour': (s) => (awsIntegration(s).passthroughBehavior = 'WHEN_NO_TEMPLATES'),
    'integration request parameters': (s) => (awsIntegration(s).requestParameters = { 'integration.request.header.X-Other': "'1'" }),
    'integration URI': (s) => (awsIntegration(s).uri = 'arn:aws:apigateway:eu-west-1:kinesis:action/PutRecords'),
    'request template': (s) => (awsIntegration(s).requestTemplates = { 'application/json': '{}' }),
    'model schema': (s) => (first(s, ApiGatewayModel).schema = '{"type":"object"}'),
    'request validator': (s) => (first(s, ApiGatewayRequestValidator).validateRequestParameters = true),
    'gateway response': (s) => (first(s, ApiGatewayGatewayResponse).statusCode = '418'),
    'integration response': (s) => (first(s, ApiGatewayIntegrationResponse).selectionPattern = '4..'),
    'method response': (s) => (first(s, ApiGatewayMethodResponse).responseParameters = {}),
    'method authorization': (s) => (first(s, ApiGatewayMethod, (m) => m.httpMethodInput === 'POST').apiKeyRequired = true),
    'method request models': (s) => (first(s, ApiGatewayMethod, (m) => m.httpMethodInput === 'POST').requestModels = {}),
  };

  let unchanged: string;
  beforeAll(() => {
    unchanged = trigger(() => {});
  });

  it('the same app synthesized again has the same trigger (no redeployment without a change)', () => {
    expect(trigger(() => {})).toBe(unchanged);
  });

  it.each(Object.keys(changes))('a change of the %s changes the redeployment trigger', (name) => {
    expect(trigger(changes[name]!)).not.toBe(unchanged);
  });
});

describe.each(ENVIRONMENT_NAMES)('finding 5 (%s): ARNs take the partition from data.aws_partition', (env) => {
  it('no string in the stack hard-codes arn:aws:', () => {
    const hardCoded = JSON.stringify(tf[env].resource).match(/arn:aws:[a-z0-9-]*/g) ?? [];
    const inData = JSON.stringify(tf[env].data).match(/arn:aws:[a-z0-9-]*/g) ?? [];
    expect([...hardCoded, ...inData]).toEqual([]);
    expect(Object.keys(tf[env].data!.aws_partition ?? {})).toHaveLength(1);
  });
});

describe.each(ENVIRONMENT_NAMES)('finding 6 (%s): the access-log line is JSON whatever the request was', (env) => {
  it('only JSON-safe variables inside quotes; the error message in its quoted form; no echo of rejected values', () => {
    const [, stage] = one(tf[env], 'aws_api_gateway_stage', () => true);
    const format = fromTfLiteral(stage.access_log_settings.format);
    expect(format).not.toContain('validationErrorString');
    expect(format).not.toMatch(/"\$context\.error\.message"/);
    expect(format).toContain('"errorMessage":$context.error.messageString');
    // Substitute hostile values: quoted-form variables carry their own quotes, the rest are ids, numbers and paths.
    const line = format
      .replace(/\$context\.error\.messageString/g, JSON.stringify('Invalid request body: "x" \\ {"a":1}'))
      .replace(/\$context\.[A-Za-z.]+/g, 'v-1');
    expect(() => JSON.parse(line)).not.toThrow();
    expect(JSON.parse(line).errorMessage).toBe('Invalid request body: "x" \\ {"a":1}');
  });
});

describe('finding 7: the function zip holds what Lambda runs, nothing more', () => {
  it.each(ENVIRONMENT_NAMES)('%s: no source map in any processor zip', (env) => {
    const stack = stacks.find((s) => s.environment.name === env)!;
    for (const family of stack.eventFamilies) {
      const names = Object.keys(unzipSync(readFileSync(family.bundleArchive.path)));
      expect(names, family.family.name).toContain('index.mjs');
      expect(names.filter((n) => n.endsWith('.map')), family.family.name).toEqual([]);
    }
  });
});

describe('finding 8: least privilege and exposure', () => {
  /** The DynamoDB commands the processors' code sends (handlers/runtime and the family handlers). */
  function dynamodbCommandsUsed(): string[] {
    const files = readdirSync(join(repoRoot, 'handlers'), { recursive: true, withFileTypes: true })
      .filter((f) => f.isFile() && f.name.endsWith('.ts') && !f.name.endsWith('.test.ts'))
      .map((f) => readFileSync(join(f.parentPath, f.name), 'utf8'))
      .filter((text) => text.includes('@aws-sdk/client-dynamodb'));
    const commands = new Set<string>();
    // Only DynamoDB's own commands (a file may send to other services too).
    for (const text of files) for (const m of text.matchAll(/new (\w+)Command\(/g)) if (`${m[1]}Command` in dynamodb) commands.add(m[1]!);
    return [...commands].sort();
  }

  it.each(ENVIRONMENT_NAMES)('%s: processor roles grant exactly the DynamoDB actions the code calls', (env) => {
    const used = dynamodbCommandsUsed();
    expect(used.length).toBeGreaterThan(0);
    for (const [, role] of resources(tf[env], 'aws_iam_role').filter(([, r]) => String(r.name).endsWith('-processor'))) {
      const [roleId] = named(tf[env], 'aws_iam_role', role.name);
      const [, policy] = one(tf[env], 'aws_iam_role_policy', (b) => b.role === ref('aws_iam_role', roleId, 'id') && b.name === 'processor');
      const dynamo = statementsOf(tf[env], policy.policy).flatMap((s) => (s.actions as string[]).filter((a) => a.startsWith('dynamodb:')));
      expect(dynamo.map((a) => a.slice('dynamodb:'.length)).sort(), role.name).toEqual(used);
    }
  });

  it.each(ENVIRONMENT_NAMES)('%s: the Firehose role trusts Firehose only for this account (sts:ExternalId, which Firehose documents)', (env) => {
    const roles = resources(tf[env], 'aws_iam_role').filter(([, r]) => String(r.name).endsWith('-archive'));
    expect(roles.length).toBe(ENVIRONMENTS[env].archive ? FAMILIES.length : 0);
    for (const [, role] of roles) {
      const [trust] = statementsOf(tf[env], role.assume_role_policy);
      expect(trust!.condition).toEqual([{ test: 'StringEquals', variable: 'sts:ExternalId', values: [expect.any(String)] }]);
    }
  });

  it('staging and prod accept no unauthenticated write; dev says why it does', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const auth = ENVIRONMENTS[env].api.authentication;
      const posts = resources(tf[env], 'aws_api_gateway_method').filter(([, m]) => m.http_method === 'POST');
      expect(posts.length).toBeGreaterThan(0);
      if (env === 'dev') {
        expect(auth.type).toBe('none');
        expect(auth.type === 'none' && auth.reason.length).toBeGreaterThan(20);
      } else {
        expect(auth.type, env).toBe('api-key');
        for (const [, m] of posts) expect(m.api_key_required, env).toBe(true);
      }
    }
  });

  it('CORS allows "*" only in dev', () => {
    for (const env of ['staging', 'prod'] as const) {
      expect(ENVIRONMENTS[env].api.corsAllowOrigins).not.toContain('*');
      const origins = resources(tf[env], 'aws_api_gateway_integration_response').map(
        ([, r]) => r.response_parameters?.['method.response.header.Access-Control-Allow-Origin'],
      );
      expect(origins.filter((o) => o === "'*'")).toEqual([]);
    }
  });

  it.each(['staging', 'prod'] as const)('%s: one API key and one usage plan per client, each below the stage limit, with a daily quota', (env) => {
    const auth = ENVIRONMENTS[env].api.authentication;
    if (auth.type !== 'api-key') throw new Error('expected API keys');
    const plans = resources(tf[env], 'aws_api_gateway_usage_plan');
    const keys = resources(tf[env], 'aws_api_gateway_api_key');
    const links = resources(tf[env], 'aws_api_gateway_usage_plan_key');
    expect(auth.clients.length).toBeGreaterThanOrEqual(2);
    expect(plans.length).toBe(auth.clients.length);
    expect(keys.length).toBe(auth.clients.length);
    expect(links.length).toBe(auth.clients.length);
    const stage = ENVIRONMENTS[env].api;
    for (const client of auth.clients) {
      const [planId, plan] = named(tf[env], 'aws_api_gateway_usage_plan', `event-flow-${env}-${client.name}`);
      const [keyId] = named(tf[env], 'aws_api_gateway_api_key', `event-flow-${env}-${client.name}`);
      expect(plan.throttle_settings.rate_limit).toBeLessThan(stage.throttlingRateLimit);
      expect(plan.throttle_settings.burst_limit).toBeLessThan(stage.throttlingBurstLimit);
      expect(plan.quota_settings).toEqual({ limit: client.dailyQuota, period: 'DAY' });
      one(tf[env], 'aws_api_gateway_usage_plan_key', (b) => b.key_id === ref('aws_api_gateway_api_key', keyId, 'id') && b.usage_plan_id === ref('aws_api_gateway_usage_plan', planId, 'id'));
    }
  });

  it('the request models bound free-form fields: no extra properties, a bounded metadata map', () => {
    const model = eventModel(userActivity) as Block;
    expect(model.additionalProperties).toBe(false);
    const metadata = model.properties.metadata;
    expect(metadata.maxProperties).toBeLessThanOrEqual(64);
    expect(metadata.additionalProperties.maxLength).toBeLessThanOrEqual(4096);
    const nested = (schema: Block): Block[] => [schema, ...Object.values((schema.properties ?? {}) as Record<string, Block>).flatMap(nested), ...((schema.oneOf ?? []) as Block[]).flatMap(nested), ...(schema.items ? nested(schema.items) : [])];
    for (const stack of stacks) {
      for (const family of stack.eventFamilies) {
        for (const schema of nested(eventModel(family.family) as Block)) {
          if (schema.type === 'object' && schema.properties) expect(schema.additionalProperties, family.family.name).toBe(false);
          if (schema.type === 'string') expect(schema.maxLength !== undefined || schema.pattern !== undefined || schema.enum !== undefined, family.family.name).toBe(true);
        }
      }
    }
  });
});

describe('finding 9: the Lambda runtime is a setting', () => {
  it.each(ENVIRONMENT_NAMES)('%s: every processor runs the environment\'s runtime', (env) => {
    expect(ENVIRONMENTS[env].processor.runtime).toMatch(/^nodejs\d+\.x$/);
    for (const [, fn] of resources(tf[env], 'aws_lambda_function')) expect(fn.runtime).toBe(ENVIRONMENTS[env].processor.runtime);
  });
});
