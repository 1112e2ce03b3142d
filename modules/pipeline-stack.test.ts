/**
 * PipelineStack (modules/pipeline-stack.ts) as synthesized, one per
 * environment: its name and provider, the state backend, the table, the alert
 * and alarm wiring with their keys, the stack's outputs, and deployment(), the
 * settings local mode runs from. What the stack's families and API synthesize
 * is in event-family.test.ts and events-api.test.ts, the walk over every IAM
 * policy document in iam.test.ts.
 */
import { Testing } from 'cdktf';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES } from '../handlers/families.js';
import { ENVIRONMENTS, ENVIRONMENT_NAMES, type EnvironmentName } from './environments.js';
import { PipelineStack } from './pipeline-stack.js';
import { keyByAlias, named, one, ref, synthesizeApp, synthJson, type TfJson } from '../test/support/synthesized.js';

let stacks: PipelineStack[];
let tf: Record<EnvironmentName, TfJson>;

beforeAll(() => {
  ({ stacks, tf } = synthesizeApp());
});

describe('stacks', () => {
  it('has one stack per environment, named event-flow-<env>, with the provider tagging project and environment', () => {
    expect(stacks.map((s) => s.node.id)).toEqual(['event-flow-dev', 'event-flow-staging', 'event-flow-prod']);
    for (const env of ENVIRONMENT_NAMES) {
      const provider = tf[env].provider!.aws![0]!;
      expect(provider.region).toBe(ENVIRONMENTS[env].region);
      expect(provider.default_tags[0].tags).toMatchObject({ project: 'event-flow', environment: env });
      // Without EVENT_FLOW_STATE_BUCKET the state stays local.
      expect(tf[env].terraform?.backend?.s3).toBeUndefined();
    }
  });

  it('keeps state in S3, encrypted and locked, when EVENT_FLOW_STATE_BUCKET is set', () => {
    const saved = { ...process.env };
    try {
      process.env.EVENT_FLOW_STATE_BUCKET = 'example-state-bucket';
      delete process.env.EVENT_FLOW_STATE_LOCK_TABLE;
      const s3 = synthJson(new PipelineStack(Testing.app(), ENVIRONMENTS.staging)).terraform!.backend!.s3;
      expect(s3).toEqual({
        bucket: 'example-state-bucket',
        key: 'event-flow/staging/terraform.tfstate',
        region: ENVIRONMENTS.staging.region,
        encrypt: true,
        use_lockfile: true,
      });
      process.env.EVENT_FLOW_STATE_LOCK_TABLE = 'example-locks';
      const locked = synthJson(new PipelineStack(Testing.app(), ENVIRONMENTS.prod)).terraform!.backend!.s3;
      expect(locked).toMatchObject({ dynamodb_table: 'example-locks', key: 'event-flow/prod/terraform.tfstate' });
      expect(locked.use_lockfile).toBeUndefined();
    } finally {
      process.env = saved;
    }
  });

  it.each(ENVIRONMENT_NAMES)('%s: table is on-demand, pk/sk, TTL on expiresAt, point-in-time recovery, encrypted', (env) => {
    const [, table] = named(tf[env], 'aws_dynamodb_table', `event-flow-${env}`);
    expect(table).toMatchObject({
      billing_mode: 'PAY_PER_REQUEST',
      hash_key: 'pk',
      range_key: 'sk',
      ttl: { attribute_name: 'expiresAt', enabled: true },
      point_in_time_recovery: { enabled: true },
      server_side_encryption: { enabled: true },
    });
    expect(table.attribute).toEqual([
      { name: 'pk', type: 'S' },
      { name: 'sk', type: 'S' },
    ]);
  });

  it.each(ENVIRONMENT_NAMES)('%s: alert bus → rule → encrypted alerts topic; encrypted alarm topic; rotating key', (env) => {
    const t = tf[env];
    const [keyId, key] = keyByAlias(t, `alias/event-flow-${env}-notifications`);
    expect(key.enable_key_rotation).toBe(true);
    expect(keyByAlias(t, `alias/event-flow-${env}`)[1].enable_key_rotation).toBe(true);
    const [busId] = named(t, 'aws_cloudwatch_event_bus', `event-flow-${env}-alerts`);
    const [alertsId, alerts] = named(t, 'aws_sns_topic', `event-flow-${env}-alerts`);
    const [, alarms] = named(t, 'aws_sns_topic', `event-flow-${env}-alarms`);
    expect(alerts.kms_master_key_id).toBe(ref('aws_kms_key', keyId, 'arn'));
    expect(alarms.kms_master_key_id).toBe(ref('aws_kms_key', keyId, 'arn'));
    // Two rules (alerts as they are, malformed notices as a pointer): modules/failure-destination.test.ts.
    for (const ruleName of [`event-flow-${env}-alerts-to-sns`, `event-flow-${env}-malformed-to-sns`]) {
      const [ruleId, rule] = named(t, 'aws_cloudwatch_event_rule', ruleName);
      expect(rule.event_bus_name).toBe(ref('aws_cloudwatch_event_bus', busId, 'name'));
      const [, target] = one(t, 'aws_cloudwatch_event_target', (b) => b.rule === ref('aws_cloudwatch_event_rule', ruleId, 'name'));
      expect(target.arn).toBe(ref('aws_sns_topic', alertsId, 'arn'));
    }
  });

  it('has the outputs users need: API URL, table, bus, and per family the stream, failure bucket and route', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const outputs = Object.keys(tf[env].output!);
      expect(outputs).toEqual(expect.arrayContaining(['api_url', 'table_name', 'alert_bus_name', 'alarm_topic_arn']));
      for (const f of FAMILIES) expect(outputs).toEqual(expect.arrayContaining([`stream_name_${f.name}`, `failure_bucket_${f.name}`, `route_${f.name}`]));
    }
  });
});

describe.each(ENVIRONMENT_NAMES)('%s stack', (env) => {
  it('deployment() hands local mode the same settings the stack synthesized', () => {
    const stack = stacks.find((s) => s.environment.name === env)!;
    const deployment = stack.deployment();
    expect(deployment).toMatchObject({ project: 'event-flow', environment: env, tableName: `event-flow-${env}`, tableTtlAttribute: 'expiresAt' });
    expect(deployment.alertBusName).toBe(`event-flow-${env}-alerts`);
    expect(deployment.families.map((f) => f.family.name)).toEqual(FAMILIES.map((f) => f.name));
    for (const f of deployment.families) {
      const [, stream] = named(tf[env], 'aws_kinesis_stream', f.stream.name);
      expect(stream.shard_count).toBe(f.stream.shardCount);
      expect(stream.retention_period).toBe(f.stream.retentionHours);
      const [fnId, fn] = named(tf[env], 'aws_lambda_function', f.processor.functionName, 'function_name');
      expect(fn.memory_size).toBe(f.processor.memorySize);
      expect(fn.timeout).toBe(f.processor.timeoutSeconds);
      expect(f.processor.environment).toMatchObject({ TABLE_NAME: `event-flow-${env}`, EVENT_BUS_NAME: `event-flow-${env}-alerts`, FAMILY_NAME: f.family.name });
      const [, esm] = one(tf[env], 'aws_lambda_event_source_mapping', (b) => b.function_name === ref('aws_lambda_function', fnId, 'arn'));
      expect(esm).toMatchObject({
        batch_size: f.eventSource.batchSize,
        maximum_batching_window_in_seconds: f.eventSource.maximumBatchingWindowInSeconds,
        bisect_batch_on_function_error: f.eventSource.bisectBatchOnFunctionError,
        maximum_retry_attempts: f.eventSource.maximumRetryAttempts,
        maximum_record_age_in_seconds: f.eventSource.maximumRecordAgeInSeconds,
        parallelization_factor: f.eventSource.parallelizationFactor,
        starting_position: f.eventSource.startingPosition,
      });
      expect(f.failureRetentionDays).toBe(14);
      expect(f.processor.bundleDir).toBe(`dist/handlers/${f.family.name}`);
    }
  });
});
