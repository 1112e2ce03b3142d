/**
 * Rules AWS enforces (or silently applies) that neither moto nor local mode
 * checks, encoded over the synthesized Terraform JSON of every environment.
 * Each rule names its source: the AWS documentation page it comes from.
 * A rule that fails here would fail a deploy, or worse, deploy something that
 * does not work (issue 9).
 */
import { FAMILIES } from '../handlers/families.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENVIRONMENTS, ENVIRONMENT_NAMES, UNRESERVED_CONCURRENCY_MINIMUM, requiredAccountConcurrency, type EnvironmentName } from './environments.js';
import { policyDoc, resources, synthesizeApp, type Block, type TfJson } from '../test/support/synthesized.js';

let tf: Record<EnvironmentName, TfJson>;
beforeAll(() => {
  ({ tf } = synthesizeApp());
});

const statements = (t: TfJson, reference: string): Block[] => policyDoc(t, reference).statement as Block[];
/** `${aws_x.id.attr}` → [type, id] */
const target = (reference: string): [string, string] | undefined => {
  const m = /^\$\{([a-z0-9_]+)\.([^.]+)\.[a-z_]+\}$/.exec(reference);
  return m ? [m[1]!, m[2]!] : undefined;
};
const servicePrincipals = (s: Block): string[] =>
  ((s.principals ?? []) as Block[]).filter((p) => p.type === 'Service').flatMap((p) => p.identifiers as string[]);
const SOURCE_KEYS = ['aws:SourceAccount', 'aws:SourceArn', 'aws:SourceOrgID', 'aws:SourceOrgPaths'];

/** Which service publishes to which topic or queue, read from the wiring (alarm actions, rule targets, DLQs). */
function publishers(t: TfJson): Array<{ service: string; type: string; id: string; via: string }> {
  const found: Array<{ service: string; type: string; id: string; via: string }> = [];
  for (const [alarmId, alarm] of resources(t, 'aws_cloudwatch_metric_alarm')) {
    for (const action of [...(alarm.alarm_actions ?? []), ...(alarm.ok_actions ?? [])] as string[]) {
      const to = target(action);
      if (to) found.push({ service: 'cloudwatch.amazonaws.com', type: to[0], id: to[1], via: `alarm ${alarmId}` });
    }
  }
  for (const [targetId, rule] of resources(t, 'aws_cloudwatch_event_target')) {
    for (const arn of [rule.arn, rule.dead_letter_config?.arn].filter(Boolean) as string[]) {
      const to = target(arn);
      if (to) found.push({ service: 'events.amazonaws.com', type: to[0], id: to[1], via: `event target ${targetId}` });
    }
  }
  const unique = new Map(found.map((f) => [`${f.service} ${f.type}.${f.id}`, f]));
  return [...unique.values()];
}

describe.each(ENVIRONMENT_NAMES)('%s: encrypted destinations let their publishing services in', (env) => {
  const t = () => tf[env];

  it('every service that publishes to an encrypted topic or queue has a key-policy statement of its own with kms:GenerateDataKey* and kms:Decrypt '
    + '(SNS Developer Guide, "Enable compatibility between event sources from AWS services and encrypted topics"; '
    + 'SQS Developer Guide, "Enable compatibility between AWS services and queues with encryption")', () => {
    const wired = publishers(t());
    expect(wired.map((w) => w.service).sort()).toEqual(expect.arrayContaining(['cloudwatch.amazonaws.com', 'events.amazonaws.com']));
    for (const { service, type, id, via } of wired) {
      const destination = t().resource[type]![id]!;
      const keyRef = destination.kms_master_key_id as string | undefined;
      expect(keyRef, `${type}.${id} (${via}) is unencrypted`).toBeDefined();
      const [, keyId] = target(keyRef!)!;
      const forService = statements(t(), t().resource.aws_kms_key![keyId]!.policy).filter((s) => servicePrincipals(s).includes(service));
      expect(forService, `${service} → ${type}.${id}`).toHaveLength(1);
      expect(forService[0]!.actions).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']));
    }
  });

  it('key-policy statements name one service each, and EventBridge\'s carries no source condition '
    + '(EventBridge does not supply aws:SourceAccount/aws:SourceArn to KMS when it publishes to an encrypted SNS topic; SNS Developer Guide, same page)', () => {
    for (const [, key] of resources(t(), 'aws_kms_key')) {
      for (const s of statements(t(), key.policy)) {
        expect(servicePrincipals(s).length).toBeLessThanOrEqual(1);
        if (servicePrincipals(s).includes('events.amazonaws.com')) {
          const keys = ((s.condition ?? []) as Block[]).map((c) => c.variable);
          expect(keys.filter((k) => SOURCE_KEYS.includes(k))).toEqual([]);
        }
      }
    }
  });

  it('every topic and queue a service publishes to has a resource policy allowing that service to send '
    + '(EventBridge User Guide, "Using resource-based policies for Amazon EventBridge" → Amazon SNS / Amazon SQS permissions; '
    + 'CloudWatch User Guide, "Using Amazon CloudWatch alarms" → alarm actions to SNS)', () => {
    for (const { service, type, id, via } of publishers(t())) {
      const policyType = type === 'aws_sns_topic' ? 'aws_sns_topic_policy' : 'aws_sqs_queue_policy';
      const field = type === 'aws_sns_topic' ? 'arn' : 'queue_url';
      const attribute = type === 'aws_sns_topic' ? 'arn' : 'url';
      const policies = resources(t(), policyType).filter(([, p]) => p[field] === `\${${type}.${id}.${attribute}}`);
      expect(policies, `${type}.${id} (${via}) has no policy`).toHaveLength(1);
      const action = type === 'aws_sns_topic' ? 'sns:Publish' : 'sqs:SendMessage';
      const allow = statements(t(), policies[0]![1].policy).filter((s) => s.effect === 'Allow' && servicePrincipals(s).includes(service) && (s.actions as string[]).includes(action));
      expect(allow, `${service} may not ${action} to ${type}.${id}`).toHaveLength(1);
    }
  });
});

describe('quota arithmetic', () => {
  // Lambda Developer Guide, "Lambda quotas": 1,000 concurrent executions per Region by default (new accounts may
  // have less until raised); "Configuring reserved concurrency": Lambda keeps at least 100 unreserved.
  const DEFAULT_ACCOUNT_CONCURRENCY = 1_000;

  it('the reserved concurrency of all environments together leaves the 100 unreserved executions Lambda requires, within the default quota (Lambda quotas; Configuring reserved concurrency)', () => {
    const reserved = ENVIRONMENT_NAMES.flatMap((env) => resources(tf[env], 'aws_lambda_function').map(([, fn]) => (fn.reserved_concurrent_executions as number | undefined) ?? 0));
    const total = reserved.reduce((a, b) => a + b, 0);
    expect(UNRESERVED_CONCURRENCY_MINIMUM).toBe(100);
    expect(requiredAccountConcurrency(total)).toBe(total + 100);
    expect(requiredAccountConcurrency(total)).toBeLessThanOrEqual(DEFAULT_ACCOUNT_CONCURRENCY);
    // A fixed 50 per prod processor would have needed 4 × 50 + 100 = 300 with four families: more than many new
    // accounts get. Prod reserves shards × parallelization: 4 shards × 1 batch each, per processor.
    expect(total).toBe(FAMILIES.length * 4);
  });

  it('stage throttling within the account\'s regional limit, and all environments together too (API Gateway quotas: 10,000 requests/s, burst 5,000, per account and Region)', () => {
    for (const env of ENVIRONMENT_NAMES) {
      expect(ENVIRONMENTS[env].api.throttlingRateLimit, env).toBeLessThanOrEqual(10_000);
      expect(ENVIRONMENTS[env].api.throttlingBurstLimit, env).toBeLessThanOrEqual(5_000);
    }
    expect(ENVIRONMENT_NAMES.reduce((sum, env) => sum + ENVIRONMENTS[env].api.throttlingRateLimit, 0)).toBeLessThanOrEqual(10_000);
  });

  it('usage plans together stay within their stage, so the clients cannot starve each other beyond the stage limit (API Gateway Developer Guide, "Throttle requests to your REST APIs": usage-plan limits apply before stage limits)', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const auth = ENVIRONMENTS[env].api.authentication;
      if (auth.type !== 'api-key') continue;
      expect(auth.clients.reduce((sum, c) => sum + c.rateLimit, 0), env).toBeLessThanOrEqual(ENVIRONMENTS[env].api.throttlingRateLimit);
      expect(new Set(auth.clients.map((c) => c.name)).size, env).toBe(auth.clients.length);
    }
  });

  it('shards of all environments within the default Kinesis shard quota (Kinesis Data Streams quotas: 200 shards per account in most Regions, 500 in the largest)', () => {
    const shards = ENVIRONMENT_NAMES.flatMap((env) => resources(tf[env], 'aws_kinesis_stream').map(([, s]) => (s.shard_count as number | undefined) ?? 4));
    expect(shards.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(200);
  });
});

describe.each(ENVIRONMENT_NAMES)('%s: argument ranges', (env) => {
  const t = () => tf[env];
  const within = (value: unknown, min: number, max: number, what: string) => {
    expect(typeof value, what).toBe('number');
    expect(value as number, what).toBeGreaterThanOrEqual(min);
    expect(value as number, what).toBeLessThanOrEqual(max);
  };

  it('event source mappings on Kinesis (Lambda API Reference, CreateEventSourceMapping; "Using Lambda with Kinesis Data Streams")', () => {
    const streams = Object.fromEntries(resources(t(), 'aws_kinesis_stream').map(([id, s]) => [id, s]));
    for (const [id, esm] of resources(t(), 'aws_lambda_event_source_mapping')) {
      within(esm.batch_size, 1, 10_000, `${id} BatchSize (Kinesis: 1-10,000)`);
      within(esm.maximum_batching_window_in_seconds, 0, 300, `${id} MaximumBatchingWindowInSeconds (0-300)`);
      within(esm.maximum_retry_attempts, -1, 10_000, `${id} MaximumRetryAttempts (-1-10,000)`);
      within(esm.parallelization_factor, 1, 10, `${id} ParallelizationFactor (1-10)`);
      const age = esm.maximum_record_age_in_seconds as number;
      expect(age === -1 || (age >= 60 && age <= 604_800), `${id} MaximumRecordAgeInSeconds (-1, or 60-604,800)`).toBe(true);
      expect(['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP']).toContain(esm.starting_position);
      // A record older than the stream's retention is gone: the age bound must fall inside it, or the DLQ never sees it.
      const stream = streams[target(esm.event_source_arn)![1]]!;
      expect(age, `${id} record age within retention`).toBeLessThan((stream.retention_period as number) * 3600);
      // Lambda Developer Guide, "Batching behavior": a window only with batches larger than one record matters; sizes > 10 need no window for Kinesis.
      expect(esm.function_response_types).toEqual(['ReportBatchItemFailures']);
    }
  });

  it('Kinesis streams (Kinesis API Reference, CreateStream and IncreaseStreamRetentionPeriod: retention 24-8,760 hours; shard count >= 1)', () => {
    for (const [id, stream] of resources(t(), 'aws_kinesis_stream')) {
      within(stream.retention_period, 24, 8_760, `${id} retention`);
      if (stream.stream_mode_details.stream_mode === 'PROVISIONED') within(stream.shard_count, 1, 500, `${id} shards`);
      else expect(stream.shard_count, `${id}: on-demand streams take no shard count`).toBeUndefined();
    }
  });

  it('Lambda functions (Lambda API Reference, CreateFunction: timeout 1-900 s, memory 128-10,240 MB; PutFunctionConcurrency >= 0)', () => {
    for (const [id, fn] of resources(t(), 'aws_lambda_function')) {
      within(fn.timeout, 1, 900, `${id} timeout`);
      within(fn.memory_size, 128, 10_240, `${id} memory`);
      if (fn.reserved_concurrent_executions !== undefined) within(fn.reserved_concurrent_executions, 0, 1_000 - 100, `${id} reserved`);
      expect(fn.architectures).toEqual(['arm64']);
    }
  });

  it('retention values CloudWatch Logs accepts (CloudWatch Logs API Reference, PutRetentionPolicy)', () => {
    const allowed = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
    for (const [id, group] of resources(t(), 'aws_cloudwatch_log_group')) expect(allowed, id).toContain(group.retention_in_days);
  });

  it('SQS queues (SQS API Reference, SetQueueAttributes: retention 60-1,209,600 s, data key reuse 60-86,400 s)', () => {
    for (const [id, queue] of resources(t(), 'aws_sqs_queue')) {
      within(queue.message_retention_seconds, 60, 1_209_600, `${id} retention`);
      if (queue.kms_data_key_reuse_period_seconds !== undefined) within(queue.kms_data_key_reuse_period_seconds, 60, 86_400, `${id} key reuse`);
    }
  });

  it('EventBridge target retry policies (EventBridge API Reference, RetryPolicy: event age 60-86,400 s, attempts 0-185)', () => {
    for (const [id, targetBlock] of resources(t(), 'aws_cloudwatch_event_target')) {
      within(targetBlock.retry_policy.maximum_event_age_in_seconds, 60, 86_400, `${id} age`);
      within(targetBlock.retry_policy.maximum_retry_attempts, 0, 185, `${id} attempts`);
    }
  });

  it('Firehose buffering (Firehose API Reference, BufferingHints: 1-128 MB, 0-900 s)', () => {
    for (const [id, delivery] of resources(t(), 'aws_kinesis_firehose_delivery_stream')) {
      within(delivery.extended_s3_configuration.buffering_size, 1, 128, `${id} size`);
      within(delivery.extended_s3_configuration.buffering_interval, 0, 900, `${id} interval`);
    }
  });

  it('KMS keys (KMS API Reference, ScheduleKeyDeletion: pending window 7-30 days)', () => {
    for (const [id, key] of resources(t(), 'aws_kms_key')) within(key.deletion_window_in_days, 7, 30, id);
  });
});

/** Name rules from each service's API reference (CreateX: length and pattern of the name parameter). */
const NAME_RULES: ReadonlyArray<{ type: string; field: string; max: number; min?: number; pattern: RegExp; source: string }> = [
  { type: 'aws_lambda_function', field: 'function_name', max: 64, pattern: /^[a-zA-Z0-9_-]+$/, source: 'Lambda API Reference, CreateFunction (FunctionName)' },
  { type: 'aws_iam_role', field: 'name', max: 64, pattern: /^[\w+=,.@-]+$/, source: 'IAM API Reference, CreateRole (RoleName)' },
  { type: 'aws_iam_role_policy', field: 'name', max: 128, pattern: /^[\w+=,.@-]+$/, source: 'IAM API Reference, PutRolePolicy (PolicyName)' },
  { type: 'aws_sqs_queue', field: 'name', max: 80, pattern: /^[a-zA-Z0-9_-]+$/, source: 'SQS API Reference, CreateQueue (QueueName)' },
  { type: 'aws_kinesis_stream', field: 'name', max: 128, pattern: /^[a-zA-Z0-9_.-]+$/, source: 'Kinesis API Reference, CreateStream (StreamName)' },
  { type: 'aws_kinesis_firehose_delivery_stream', field: 'name', max: 64, pattern: /^[a-zA-Z0-9_.-]+$/, source: 'Firehose API Reference, CreateDeliveryStream' },
  { type: 'aws_cloudwatch_log_group', field: 'name', max: 512, pattern: /^[.\-_/#A-Za-z0-9]+$/, source: 'CloudWatch Logs API Reference, CreateLogGroup' },
  { type: 'aws_sns_topic', field: 'name', max: 256, pattern: /^[A-Za-z0-9_-]+$/, source: 'SNS API Reference, CreateTopic' },
  { type: 'aws_cloudwatch_event_bus', field: 'name', max: 256, pattern: /^[/.\-_A-Za-z0-9]+$/, source: 'EventBridge API Reference, CreateEventBus' },
  { type: 'aws_cloudwatch_event_rule', field: 'name', max: 64, pattern: /^[.\-_A-Za-z0-9]+$/, source: 'EventBridge API Reference, PutRule' },
  { type: 'aws_dynamodb_table', field: 'name', min: 3, max: 255, pattern: /^[a-zA-Z0-9_.-]+$/, source: 'DynamoDB API Reference, CreateTable' },
  { type: 'aws_kms_alias', field: 'name', max: 256, pattern: /^alias\/(?!aws\/)[a-zA-Z0-9/_-]+$/, source: 'KMS API Reference, CreateAlias (not alias/aws/)' },
  { type: 'aws_cloudwatch_metric_alarm', field: 'alarm_name', max: 255, pattern: /^[^\u0000-\u001f]+$/, source: 'CloudWatch API Reference, PutMetricAlarm' },
  { type: 'aws_api_gateway_model', field: 'name', max: 255, pattern: /^[a-zA-Z0-9]+$/, source: 'API Gateway API Reference, CreateModel (alphanumeric)' },
  { type: 'aws_api_gateway_stage', field: 'stage_name', max: 128, pattern: /^[a-zA-Z0-9_-]+$/, source: 'API Gateway API Reference, CreateStage' },
  { type: 'aws_api_gateway_resource', field: 'path_part', max: 255, pattern: /^[a-zA-Z0-9._-]+$/, source: 'API Gateway Developer Guide, resource path parts' },
];

describe.each(ENVIRONMENT_NAMES)('%s: names fit their services', (env) => {
  it.each(NAME_RULES.map((r) => ({ ...r, label: `${r.type}.${r.field}: ${r.min ?? 1}-${r.max} characters, ${r.pattern} (${r.source})` })))('$label', (rule) => {
    const names = resources(tf[env], rule.type).map(([, b]) => b[rule.field] as string);
    if (rule.type !== 'aws_kinesis_firehose_delivery_stream' || ENVIRONMENTS[env].archive) expect(names.length, rule.type).toBeGreaterThan(0);
    for (const name of names) {
      expect(name.length, name).toBeGreaterThanOrEqual(rule.min ?? 1);
      expect(name.length, name).toBeLessThanOrEqual(rule.max);
      expect(name, name).toMatch(rule.pattern);
    }
  });

  it('S3 bucket prefixes leave room for the provider\'s 26-character suffix in a 3-63 character, lower-case name (S3 User Guide, "General purpose bucket naming rules")', () => {
    for (const [id, bucket] of resources(tf[env], 'aws_s3_bucket')) {
      const prefix = bucket.bucket_prefix as string;
      expect(prefix.length + 26, id).toBeLessThanOrEqual(63);
      expect(prefix, id).toMatch(/^[a-z0-9][a-z0-9.-]*$/);
      expect(prefix, id).not.toMatch(/\.\.|^xn--|^sthree-/);
    }
  });
});

describe.each(ENVIRONMENT_NAMES)('%s: what a stage serves comes from its deployment', (env) => {
  // API Gateway Developer Guide, "Deploy REST APIs in API Gateway": a deployment is a snapshot of the API's resources,
  // methods, integrations, models, request validators and gateway responses; any change to them is served only after a
  // new deployment. So each must exist before the deployment is created, and changing one must replace the deployment
  // (modules/deployability.test.ts, finding 4, changes each in turn).
  const SNAPSHOT_TYPES = [
    'aws_api_gateway_resource',
    'aws_api_gateway_method',
    'aws_api_gateway_integration',
    'aws_api_gateway_method_response',
    'aws_api_gateway_integration_response',
    'aws_api_gateway_model',
    'aws_api_gateway_request_validator',
    'aws_api_gateway_gateway_response',
  ];

  it('every snapshotted resource is created before the deployment (a dependency, direct or through references)', () => {
    const t = tf[env];
    const edges = new Map<string, Set<string>>();
    for (const [type, byId] of Object.entries(t.resource)) {
      for (const [id, block] of Object.entries(byId)) {
        const text = JSON.stringify(block);
        const refs = new Set<string>([...text.matchAll(/\$\{(aws_[a-z0-9_]+)\.([^.}]+)\./g)].map((m) => `${m[1]}.${m[2]}`));
        for (const d of (block.depends_on ?? []) as string[]) refs.add(d);
        edges.set(`${type}.${id}`, refs);
      }
    }
    const [deploymentId] = resources(t, 'aws_api_gateway_deployment')[0]!;
    const reached = new Set<string>();
    const visit = (node: string) => {
      for (const next of edges.get(node) ?? []) {
        if (reached.has(next)) continue;
        reached.add(next);
        visit(next);
      }
    };
    visit(`aws_api_gateway_deployment.${deploymentId}`);
    for (const type of SNAPSHOT_TYPES) {
      const all = resources(t, type).map(([id]) => `${type}.${id}`);
      expect(all.length, type).toBeGreaterThan(0);
      expect(all.filter((address) => !reached.has(address)), type).toEqual([]);
    }
  });
});
