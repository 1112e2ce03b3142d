/**
 * Synth tests of where failed and malformed records go and how long they stay:
 * the S3 on-failure destination of every mapping (encryption, public access,
 * TLS-only policy, expiry, the exact permissions Lambda needs, the alarm), the
 * malformed sink's TTL setting, and the alert rules that keep raw data out of
 * e-mail.
 *
 * AWS rules encoded here (no emulator enforces them):
 * - "Retain discarded batch records for a Kinesis Data Streams event source in
 *   Lambda" (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html):
 *   an S3 destination receives the invocation record with its payload; the
 *   execution role needs s3:PutObject and s3:ListBucket on the bucket.
 * - "Protecting data with server-side encryption with AWS KMS keys"
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html):
 *   a PutObject into an SSE-KMS bucket needs kms:GenerateDataKey on its key.
 * - "Amazon EventBridge input transformation"
 *   (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html):
 *   string placeholders in quotes, JSON values bare, no placeholder as a key.
 */
import { Testing } from 'cdktf';
import { beforeAll, describe, expect, it } from 'vitest';
import { orders } from '../handlers/orders/family.js';
import { payments } from '../handlers/payments/family.js';
import { tutoring } from '../handlers/tutoring/family.js';
import { userActivity } from '../handlers/user_activity/family.js';
import { MALFORMED_NOTICE_PATHS, MALFORMED_NOTICE_TEMPLATE } from './alert-routing.js';
import { ENVIRONMENTS, ENVIRONMENT_NAMES, type EnvironmentName } from './environments.js';
import { EventFamily } from './event-family.js';
import { DEFAULT_FAILURE_RETENTION_DAYS, FAILURE_OBJECT_PREFIX, failureBucketPrefix } from './failure-destination.js';
import { fromTfLiteral } from './iam.js';
import { PipelineStack } from './pipeline-stack.js';
import { keyByAlias, named, one, policyDoc, ref, resources, synthesizeApp, synthJson, type Block, type TfJson } from '../test/support/synthesized.js';

let tf: Record<EnvironmentName, TfJson>;
beforeAll(() => {
  ({ tf } = synthesizeApp());
});

const failureBucket = (t: TfJson, name: string) => one(t, 'aws_s3_bucket', (b) => b.bucket_prefix === failureBucketPrefix(name));
const forBucket = (t: TfJson, type: string, bucketId: string) => one(t, type, (b) => b.bucket === ref('aws_s3_bucket', bucketId, 'id'))[1];

const cases = ENVIRONMENT_NAMES.flatMap((env) => [userActivity, orders, payments, tutoring].map(({ name: family }) => ({ env, family, name: `event-flow-${env}-${family}` })));

describe.each(cases)('$name failure destination', ({ env, name }) => {
  const t = () => tf[env];

  it('is an S3 bucket: SSE-KMS with the environment key, public access blocked, owner-enforced, kept 14 days', () => {
    const [bucketId, bucket] = failureBucket(t(), name);
    expect(bucket.force_destroy).toBe(false);
    const [keyId] = keyByAlias(t(), `alias/event-flow-${env}`);
    expect(forBucket(t(), 'aws_s3_bucket_server_side_encryption_configuration', bucketId).rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: ref('aws_kms_key', keyId, 'arn') }, bucket_key_enabled: true },
    ]);
    expect(forBucket(t(), 'aws_s3_bucket_public_access_block', bucketId)).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(forBucket(t(), 'aws_s3_bucket_ownership_controls', bucketId).rule).toEqual({ object_ownership: 'BucketOwnerEnforced' });
    const [rule] = forBucket(t(), 'aws_s3_bucket_lifecycle_configuration', bucketId).rule as Block[];
    expect(rule).toMatchObject({ status: 'Enabled', filter: [{ prefix: '' }], expiration: [{ days: DEFAULT_FAILURE_RETENTION_DAYS }] });
    expect(DEFAULT_FAILURE_RETENTION_DAYS).toBe(14);
  });

  it('denies every request that is not TLS, on the bucket and its objects', () => {
    const [bucketId] = failureBucket(t(), name);
    const bucketArn = ref('aws_s3_bucket', bucketId, 'arn');
    const statements = policyDoc(t(), forBucket(t(), 'aws_s3_bucket_policy', bucketId).policy).statement as Block[];
    expect(statements).toEqual([
      expect.objectContaining({
        effect: 'Deny',
        actions: ['s3:*'],
        resources: [bucketArn, `${bucketArn}/*`],
        principals: [{ type: '*', identifiers: ['*'] }],
        condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
      }),
    ]);
  });

  it('is the mapping’s on-failure destination, and the mapping waits for the permission to write there', () => {
    const [bucketId] = failureBucket(t(), name);
    const [streamId] = named(t(), 'aws_kinesis_stream', name);
    const [, esm] = one(t(), 'aws_lambda_event_source_mapping', (b) => b.event_source_arn === ref('aws_kinesis_stream', streamId, 'arn'));
    expect(esm.destination_config).toEqual({ on_failure: { destination_arn: ref('aws_s3_bucket', bucketId, 'arn') } });
    const [roleId] = named(t(), 'aws_iam_role', `${name}-processor`);
    const [policyId] = one(t(), 'aws_iam_role_policy', (b) => b.name === 'failure-destination' && b.role === ref('aws_iam_role', roleId, 'id'));
    expect(esm.depends_on).toContain(`aws_iam_role_policy.${policyId}`);
  });

  it('grants the processor role exactly what Lambda needs to write failure objects: ListBucket, PutObject under aws/lambda/, GenerateDataKey', () => {
    const [bucketId] = failureBucket(t(), name);
    const bucketArn = ref('aws_s3_bucket', bucketId, 'arn');
    const [roleId] = named(t(), 'aws_iam_role', `${name}-processor`);
    const role = ref('aws_iam_role', roleId, 'id');
    const [, policy] = one(t(), 'aws_iam_role_policy', (b) => b.role === role && b.name === 'failure-destination');
    expect(policyDoc(t(), policy.policy).statement).toEqual([
      { sid: 'FindFailureBucket', effect: 'Allow', actions: ['s3:ListBucket'], resources: [bucketArn] },
      { sid: 'WriteFailureRecords', effect: 'Allow', actions: ['s3:PutObject'], resources: [`${bucketArn}/${FAILURE_OBJECT_PREFIX}*`] },
    ]);
    // SSE-KMS: the write needs a data key from the bucket's key (the processor policy's key statement).
    const [, processor] = one(t(), 'aws_iam_role_policy', (b) => b.role === role && b.name === 'processor');
    const [keyId] = keyByAlias(t(), `alias/event-flow-${env}`);
    const key = (policyDoc(t(), processor.policy).statement as Block[]).find((s) => s.sid === 'UseEnvironmentKey')!;
    expect(key.actions).toContain('kms:GenerateDataKey');
    expect(key.resources).toEqual([ref('aws_kms_key', keyId, 'arn')]);
    // No SQS dead-letter queue for the family any more: the bucket replaced it.
    expect(resources(t(), 'aws_sqs_queue').filter(([, q]) => String(q.name).startsWith(name))).toEqual([]);
  });

  it('alarms on any new failure object (request metrics filtered on aws/lambda/), wired to the alarm topic', () => {
    const [bucketId] = failureBucket(t(), name);
    const metric = forBucket(t(), 'aws_s3_bucket_metric', bucketId);
    expect(metric.filter).toEqual({ prefix: FAILURE_OBJECT_PREFIX });
    const [, alarm] = named(t(), 'aws_cloudwatch_metric_alarm', `${name}-failure-records`, 'alarm_name');
    const [topicId] = named(t(), 'aws_sns_topic', `event-flow-${env}-alarms`);
    expect(alarm).toMatchObject({
      namespace: 'AWS/S3',
      metric_name: 'PutRequests',
      dimensions: { BucketName: ref('aws_s3_bucket', bucketId, 'id'), FilterId: metric.name },
      statistic: 'Sum',
      threshold: 0,
      comparison_operator: 'GreaterThanThreshold',
      alarm_actions: [ref('aws_sns_topic', topicId, 'arn')],
    });
  });

  it('sets MALFORMED_TTL_SECONDS to the same retention, and outputs the bucket', () => {
    const [, fn] = named(t(), 'aws_lambda_function', name, 'function_name');
    expect(fn.environment.variables.MALFORMED_TTL_SECONDS).toBe(String(DEFAULT_FAILURE_RETENTION_DAYS * 86_400));
    const family = name.slice(`event-flow-${env}-`.length);
    const [bucketId] = failureBucket(t(), name);
    expect(tf[env].output![`failure_bucket_${family}`]!.value).toBe(ref('aws_s3_bucket', bucketId, 'bucket'));
  });
});

describe('failure retention is a setting', () => {
  it('failureRetentionDays sets the bucket expiry and the malformed TTL together; nonsense is refused', () => {
    const stack = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
    new EventFamily(stack, userActivity.name, { host: stack, family: userActivity, failureRetentionDays: 30 });
    const t = synthJson(stack);
    const name = 'event-flow-dev-user_activity';
    const [bucketId] = failureBucket(t, name);
    expect((forBucket(t, 'aws_s3_bucket_lifecycle_configuration', bucketId).rule as Block[])[0]!.expiration).toEqual([{ days: 30 }]);
    expect(named(t, 'aws_lambda_function', name, 'function_name')[1].environment.variables.MALFORMED_TTL_SECONDS).toBe(String(30 * 86_400));
    expect(stack.deployment().families[0]!.failureRetentionDays).toBe(30);

    const other = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
    expect(() => new EventFamily(other, userActivity.name, { host: other, family: userActivity, failureRetentionDays: 0 })).toThrow(/whole number of days/);
  });
});

/** Renders an InputTemplate the way EventBridge does: quoted placeholders take the raw string, bare ones the JSON value. */
function renderInputTemplate(template: string, paths: Readonly<Record<string, string>>, event: unknown): string {
  const at = (path: string) => path.replace(/^\$\.?/, '').split('.').filter(Boolean).reduce<any>((v, k) => (v == null ? undefined : v[k]), event);
  return template
    .replace(/"<([A-Za-z0-9_.-]+)>"/g, (_, name: string) => {
      const value = at(paths[name]!);
      expect(typeof value, `${name} is inserted as a string`).toBe('string');
      expect(value, `${name} holds nothing that needs escaping`).not.toMatch(/["\\\n]/);
      return `"${value}"`;
    })
    .replace(/<([A-Za-z0-9_.-]+)>/g, (_, name: string) => JSON.stringify(at(paths[name]!) ?? null));
}

describe('alerts that leave the system (EventBridge rule → SNS → e-mail)', () => {
  const t = () => tf.prod;

  it('business alerts go as they are; malformed notices never match that rule', () => {
    const [, rule] = named(t(), 'aws_cloudwatch_event_rule', 'event-flow-prod-alerts-to-sns');
    expect(rule.event_pattern).toContain('anything-but');
    expect(rule.event_pattern).toContain('MalformedEvent');
  });

  it('a MalformedEvent reaches the topic as a pointer to the kept record (table key, stream position), without raw data', () => {
    const [ruleId, rule] = named(t(), 'aws_cloudwatch_event_rule', 'event-flow-prod-malformed-to-sns');
    expect(rule.event_pattern).toContain('"detail-type" = ["MalformedEvent"]');
    const [, target] = one(t(), 'aws_cloudwatch_event_target', (b) => b.rule === ref('aws_cloudwatch_event_rule', ruleId, 'name'));
    const transformer = target.input_transformer;
    expect(transformer.input_paths).toEqual(MALFORMED_NOTICE_PATHS);
    const template = fromTfLiteral(transformer.input_template);
    expect(template).toBe(MALFORMED_NOTICE_TEMPLATE);
    // No path reaches into the raw data or free text.
    for (const path of Object.values(transformer.input_paths as Record<string, string>)) {
      expect(path).not.toMatch(/raw_data|issues|message|\$\.detail$|\$\.detail\.details$/);
    }

    // The detail exactly as handlers/runtime/records.ts builds it, with hostile raw data.
    const raw = Buffer.from('{"user_id": "secret \\" </> data", "card": "4111 1111 1111 1111"}').toString('base64');
    const event = {
      'detail-type': 'MalformedEvent',
      source: 'event-flow.user_activity',
      detail: {
        alert_id: 'user_activity:shardId-000000000000:4968:0:0',
        alert_type: 'MalformedEvent',
        severity: 'warning',
        entity_type: 'kinesis_record',
        entity_id: 'shardId-000000000000/4968',
        message: 'Malformed user_activity record 4968 (invalid_event): "action": expected string',
        timestamp: '2026-12-02T10:00:00.000Z',
        family: 'user_activity',
        details: {
          reason: 'invalid_event',
          issues: 'action: expected "string"',
          sequence_number: '4968',
          partition_key: 'u-1',
          shard_id: 'shardId-000000000000',
          raw_data: raw,
          raw_data_truncated: false,
          raw_length: raw.length,
          record_key: { pk: 'user_activity#malformed', sk: 'shardId-000000000000#0004968' },
        },
        source: { sequence_number: '4968', shard_id: 'shardId-000000000000', partition_key: 'u-1' },
      },
    };
    const notice = JSON.parse(renderInputTemplate(template, transformer.input_paths, event));
    expect(notice).toMatchObject({
      alert_type: 'MalformedEvent',
      family: 'user_activity',
      reason: 'invalid_event',
      raw_length: raw.length,
      record: { pk: 'user_activity#malformed', sk: 'shardId-000000000000#0004968' },
      source: { sequence_number: '4968', shard_id: 'shardId-000000000000' },
    });
    const text = JSON.stringify(notice);
    expect(text).not.toContain(raw);
    expect(text).not.toContain('4111');
    expect(text).not.toContain('raw_data');
  });
});
