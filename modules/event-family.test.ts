/**
 * EventFamily (modules/event-family.ts, its builders in modules/family/) as
 * synthesized. Per family and environment: stream, processor, event source
 * mapping, alarms and processor role. Per environment: the families'
 * archives. Then a family added in one line: a throw-away one, one with
 * overrides, and the ones refused.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { z } from 'zod/mini';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES } from '../handlers/families.js';
import { defineFamily } from '../handlers/runtime/family.js';
import { orders } from '../handlers/orders/family.js';
import { addFamilies } from './app.js';
import { ENVIRONMENTS, ENVIRONMENT_NAMES, type EnvironmentName } from './environments.js';
import { EventFamily } from './event-family.js';
import { fromTfLiteral } from './iam.js';
import { PipelineStack } from './pipeline-stack.js';
import { familyCases, keyByAlias, named, one, policyDoc, ref, resources, synthesizeApp, synthJson, type Block, type TfJson } from '../test/support/synthesized.js';
import { putRecordRequestTemplate } from './templates.js';

let tf: Record<EnvironmentName, TfJson>;

beforeAll(() => {
  ({ tf } = synthesizeApp());
});

describe.each(familyCases)('$name', ({ env, family, name }) => {
  const config = ENVIRONMENTS[env];
  const t = () => tf[env];

  it('stream: KMS-encrypted, retention and capacity from the environment', () => {
    const [, stream] = named(t(), 'aws_kinesis_stream', name);
    expect(stream.encryption_type).toBe('KMS');
    if (config.stream.customerKey) {
      const [keyId] = keyByAlias(t(), `alias/event-flow-${env}`);
      expect(stream.kms_key_id).toBe(ref('aws_kms_key', keyId, 'arn'));
    } else {
      expect(stream.kms_key_id).toBe('alias/aws/kinesis');
    }
    expect(stream.retention_period).toBe(config.stream.retentionHours);
    expect(stream.stream_mode_details).toEqual({ stream_mode: config.stream.mode });
    expect(stream.shard_count).toBe(config.stream.shardCount);
    expect(stream.tags).toEqual({ family: family.name });
  });

  it('processor: the environment\'s runtime, the bundle zip, the contract environment, a log group with finite retention', () => {
    const [, fn] = named(t(), 'aws_lambda_function', name, 'function_name');
    expect(fn.runtime).toBe(config.processor.runtime);
    expect(fn.handler).toBe('index.handler');
    expect(fn.filename).toMatch(new RegExp(`^assets/${family.name}_bundle_[0-9A-F]+/[0-9a-f]{64}/${family.name}-[0-9a-f]{16}\\.zip$`));
    expect(fn.source_code_hash).toBe(`\${filebase64sha256("${fn.filename}")}`);
    const [tableId] = named(t(), 'aws_dynamodb_table', `event-flow-${env}`);
    const [busId] = named(t(), 'aws_cloudwatch_event_bus', `event-flow-${env}-alerts`);
    expect(fn.environment.variables).toEqual({
      TABLE_NAME: ref('aws_dynamodb_table', tableId, 'name'),
      EVENT_BUS_NAME: ref('aws_cloudwatch_event_bus', busId, 'name'),
      FAMILY_NAME: family.name,
      POWERTOOLS_SERVICE_NAME: family.name,
      POWERTOOLS_METRICS_NAMESPACE: `EventFlow/${env}`,
      POWERTOOLS_LOG_LEVEL: config.processor.logLevel,
      // Fences outlive every possible redelivery: twice the mapping's maximum record age.
      FENCE_RETENTION_SECONDS: String(2 * 3_600),
      MALFORMED_TTL_SECONDS: String(14 * 86_400),
    });
    expect(fn.memory_size).toBe(config.processor.memorySize);
    expect(fn.timeout).toBe(config.processor.timeoutSeconds);
    expect(fn.reserved_concurrent_executions).toBe(
      config.processor.reserveConcurrency ? config.stream.shardCount * config.eventSource.parallelizationFactor : undefined,
    );
    expect(fn.tracing_config).toEqual(config.processor.tracing ? { mode: 'Active' } : undefined);
    const [logId, logs] = named(t(), 'aws_cloudwatch_log_group', `/aws/lambda/${name}`);
    expect(logs.retention_in_days).toBe(config.processor.logRetentionDays);
    expect(fn.logging_config.log_group).toBe(ref('aws_cloudwatch_log_group', logId, 'name'));
  });

  it('event source mapping: partial failures, bisect, bounded retries and age, on-failure → its failure bucket', () => {
    const [streamId] = named(t(), 'aws_kinesis_stream', name);
    const [fnId] = named(t(), 'aws_lambda_function', name, 'function_name');
    const [bucketId] = one(t(), 'aws_s3_bucket', (b) => b.bucket_prefix === `${name.replace(/_/g, '-')}-failures-`.slice(0, 37));
    const [, esm] = one(t(), 'aws_lambda_event_source_mapping', (b) => b.event_source_arn === ref('aws_kinesis_stream', streamId, 'arn'));
    expect(esm).toMatchObject({
      function_name: ref('aws_lambda_function', fnId, 'arn'),
      starting_position: 'TRIM_HORIZON',
      function_response_types: ['ReportBatchItemFailures'],
      bisect_batch_on_function_error: true,
      maximum_retry_attempts: 3,
      maximum_record_age_in_seconds: 3600,
      batch_size: config.eventSource.batchSize,
      maximum_batching_window_in_seconds: config.eventSource.maximumBatchingWindowInSeconds,
      parallelization_factor: config.eventSource.parallelizationFactor,
      destination_config: { on_failure: { destination_arn: ref('aws_s3_bucket', bucketId, 'arn') } },
    });
  });

  it('alarms: each with its dimension, wired to the alarm topic', () => {
    const [topicId] = named(t(), 'aws_sns_topic', `event-flow-${env}-alarms`);
    const topic = ref('aws_sns_topic', topicId, 'arn');
    const alarm = (suffix: string) => named(t(), 'aws_cloudwatch_metric_alarm', `${name}-${suffix}`, 'alarm_name')[1];
    const expected: Record<string, [string, string, Record<string, string>, number]> = {
      'iterator-age': ['AWS/Lambda', 'IteratorAge', { FunctionName: name }, 60_000],
      errors: ['AWS/Lambda', 'Errors', { FunctionName: name }, 0],
      throttles: ['AWS/Lambda', 'Throttles', { FunctionName: name }, 0],
      'write-throughput-exceeded': ['AWS/Kinesis', 'WriteProvisionedThroughputExceeded', { StreamName: name }, 0],
    };
    for (const [suffix, [namespace, metricName, dimensions, threshold]] of Object.entries(expected)) {
      expect(alarm(suffix)).toMatchObject({
        namespace,
        metric_name: metricName,
        dimensions,
        threshold,
        comparison_operator: 'GreaterThanThreshold',
        alarm_actions: [topic],
      });
    }
    const malformed = alarm('malformed-rate');
    expect(malformed.threshold).toBe(5);
    expect(malformed.alarm_actions).toEqual([topic]);
    const queries = Object.fromEntries((malformed.metric_query as Block[]).map((q) => [q.id, q]));
    expect(queries.malformed!.metric).toMatchObject({
      namespace: `EventFlow/${env}`,
      metric_name: 'MalformedEvents',
      dimensions: { service: family.name, family: family.name },
    });
    expect(queries.incoming!.metric).toMatchObject({ namespace: 'AWS/Kinesis', metric_name: 'IncomingRecords', dimensions: { StreamName: name } });
    expect(queries.rate).toMatchObject({ expression: 'IF(incoming > 0, 100 * FILL(malformed, 0) / incoming, 0)', return_data: true });
  });

  it('processor role: reads its stream, writes only its key prefix, publishes alerts, logs to its group', () => {
    const [roleId] = named(t(), 'aws_iam_role', `${name}-processor`);
    const [, rolePolicy] = one(t(), 'aws_iam_role_policy', (b) => b.role === ref('aws_iam_role', roleId, 'id') && b.name === 'processor');
    const statements = Object.fromEntries((policyDoc(t(), rolePolicy.policy).statement as Block[]).map((s) => [s.sid, s]));
    const [streamId] = named(t(), 'aws_kinesis_stream', name);
    const [tableId] = named(t(), 'aws_dynamodb_table', `event-flow-${env}`);
    const [busId] = named(t(), 'aws_cloudwatch_event_bus', `event-flow-${env}-alerts`);
    const [logId] = named(t(), 'aws_cloudwatch_log_group', `/aws/lambda/${name}`);
    expect(statements.ReadOwnStream!.resources).toEqual([ref('aws_kinesis_stream', streamId, 'arn')]);
    expect(statements.WriteOwnKeyPrefix).toMatchObject({
      resources: [ref('aws_dynamodb_table', tableId, 'arn')],
      condition: [{ test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: [`${family.name}#*`] }],
    });
    expect(statements.WriteOwnKeyPrefix!.actions).not.toContain('dynamodb:DeleteItem');
    expect(statements.PublishAlerts).toMatchObject({ actions: ['events:PutEvents'], resources: [ref('aws_cloudwatch_event_bus', busId, 'arn')] });
    expect(statements.WriteOwnLogs!.resources).toEqual([`${ref('aws_cloudwatch_log_group', logId, 'arn')}:*`]);
    expect(Object.keys(statements).sort()).toEqual(
      ['PublishAlerts', 'ReadOwnStream', 'UseEnvironmentKey', 'WriteOwnKeyPrefix', 'WriteOwnLogs', ...(config.processor.tracing ? ['WriteTraces'] : [])].sort(),
    );
  });
});

describe.each(ENVIRONMENT_NAMES)('%s families', (env) => {
  const config = ENVIRONMENTS[env];

  it(`archive ${config.archive ? 'is on' : 'is off'}: Firehose → encrypted, private S3 with GZIP, hour partitions and lifecycle`, () => {
    const t = tf[env];
    const firehoses = resources(t, 'aws_kinesis_firehose_delivery_stream');
    expect(firehoses.length).toBe(config.archive ? FAMILIES.length : 0);
    if (!config.archive) return;
    for (const f of FAMILIES) {
      const [, delivery] = named(t, 'aws_kinesis_firehose_delivery_stream', `event-flow-${env}-${f.name}-archive`);
      const [streamId] = named(t, 'aws_kinesis_stream', `event-flow-${env}-${f.name}`);
      expect(delivery.kinesis_source_configuration.kinesis_stream_arn).toBe(ref('aws_kinesis_stream', streamId, 'arn'));
      const s3 = delivery.extended_s3_configuration;
      expect(s3).toMatchObject({ compression_format: 'GZIP', buffering_size: 5, buffering_interval: 300 });
      expect(s3.prefix).toBe('events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/');
      expect(s3.error_output_prefix).toMatch(/^errors\/.*!\{firehose:error-output-type\}\/$/);
      const bucketRef = s3.bucket_arn as string;
      const bucketId = /aws_s3_bucket\.([^.]+)\.arn/.exec(bucketRef)![1]!;
      const onBucket = (type: string) => one(t, type, (b) => b.bucket === ref('aws_s3_bucket', bucketId, 'id'))[1];
      expect(onBucket('aws_s3_bucket_public_access_block')).toMatchObject({
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      });
      expect(onBucket('aws_s3_bucket_server_side_encryption_configuration').rule[0].apply_server_side_encryption_by_default.sse_algorithm).toBe('aws:kms');
      const rule = onBucket('aws_s3_bucket_lifecycle_configuration').rule[0];
      expect(rule.transition).toEqual([
        { days: 30, storage_class: 'STANDARD_IA' },
        { days: 90, storage_class: 'GLACIER' },
      ]);
      expect(rule.expiration).toEqual([{ days: 365 }]);
    }
  });
});

describe('adding a family is one line', () => {
  let workDir: string;
  let bundleDir: string;
  beforeAll(() => {
    // A real (tiny) bundle folder: the module zips whatever the build produced.
    workDir = mkdtempSync(join(tmpdir(), 'event-flow-throwaway-'));
    bundleDir = join(workDir, 'sensor_readings');
    mkdirSync(bundleDir, { recursive: true });
    writeFileSync(join(bundleDir, 'index.mjs'), 'export const handler = async () => ({ batchItemFailures: [] });\n');
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it('a throw-away family gets its stream, processor, mapping, failure bucket, alarms, role and both routes', () => {
    const sensors = defineFamily({
      name: 'sensor_readings',
      description: 'Throw-away family defined inside a test.',
      schema: z.object({ sensor_id: z.string(), value: z.number() }),
      partitionKey: ['sensor_id'],
      idempotencyKey: 'reading_id',
      example: { sensor_id: 's-1', value: 21.5 },
    });
    const before = synthJson((() => {
      const stack = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
      addFamilies(stack);
      return stack;
    })());

    const stack = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
    addFamilies(stack);
    new EventFamily(stack, sensors.name, { host: stack, family: sensors, bundleDir });
    const after = synthJson(stack);

    const name = 'event-flow-dev-sensor_readings';
    named(after, 'aws_kinesis_stream', name);
    named(after, 'aws_lambda_function', name, 'function_name');
    one(after, 'aws_s3_bucket', (b) => b.bucket_prefix === 'event-flow-dev-sensor-readings-failures-'.slice(0, 37));
    named(after, 'aws_iam_role', `${name}-processor`);
    const [fnId] = named(after, 'aws_lambda_function', name, 'function_name');
    one(after, 'aws_lambda_event_source_mapping', (b) => b.function_name === ref('aws_lambda_function', fnId, 'arn'));
    for (const suffix of ['iterator-age', 'errors', 'throttles', 'failure-records', 'write-throughput-exceeded', 'malformed-rate']) {
      named(after, 'aws_cloudwatch_metric_alarm', `${name}-${suffix}`, 'alarm_name');
    }
    const [resourceId] = one(after, 'aws_api_gateway_resource', (b) => b.path_part === 'sensor_readings' && !String(b.parent_id).includes('compat-batch'));
    const [, integration] = one(after, 'aws_api_gateway_integration', (b) => b.resource_id === ref('aws_api_gateway_resource', resourceId, 'id') && b.type === 'AWS');
    expect(fromTfLiteral(integration.request_templates['application/json'])).toBe(putRecordRequestTemplate(sensors, name));
    named(after, 'aws_api_gateway_model', 'SensorReadingsEvent');
    named(after, 'aws_api_gateway_model', 'SensorReadingsBatch');
    expect(Object.keys(after.output!)).toEqual(expect.arrayContaining(['stream_name_sensor_readings', 'failure_bucket_sensor_readings', 'route_sensor_readings']));
    expect(stack.deployment().families.map((f) => f.family.name)).toContain('sensor_readings');

    // The same app synthesized twice gives the same trigger: no redeploy without a change.
    const again = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
    addFamilies(again);
    expect(one(synthJson(again), 'aws_api_gateway_deployment', () => true)[1].triggers.redeployment).toBe(
      one(before, 'aws_api_gateway_deployment', () => true)[1].triggers.redeployment,
    );
    // The new route changes the deployment's trigger, so the stage actually gets it.
    const trigger = (json: TfJson) => one(json, 'aws_api_gateway_deployment', () => true)[1].triggers.redeployment;
    expect(trigger(after)).not.toBe(trigger(before));
    expect(resources(after, 'aws_kinesis_stream').length).toBe(resources(before, 'aws_kinesis_stream').length + 1);
  });

  it('takes per-family overrides: on-demand stream, bigger processor, other batching, an archive in dev', () => {
    const clicks = defineFamily({
      name: 'clicks',
      description: 'Throw-away family with overrides.',
      schema: z.object({ page: z.string() }),
      partitionKey: ['page'],
      idempotencyKey: 'click_id',
      example: { page: '/' },
    });
    const clicksDir = join(workDir, 'clicks');
    mkdirSync(clicksDir, { recursive: true });
    writeFileSync(join(clicksDir, 'index.mjs'), 'export const handler = async () => ({ batchItemFailures: [] });\n');
    const stack = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
    const family = new EventFamily(stack, clicks.name, {
      host: stack,
      family: clicks,
      bundleDir: clicksDir,
      stream: { mode: 'ON_DEMAND', retentionHours: 48 },
      processor: { memorySize: 1024 },
      eventSource: { batchSize: 10, maximumRetryAttempts: 5 },
      archive: { bufferingIntervalSeconds: 60 },
    });
    const json = synthJson(stack);
    const name = 'event-flow-dev-clicks';
    const [streamId, stream] = named(json, 'aws_kinesis_stream', name);
    expect(stream.stream_mode_details).toEqual({ stream_mode: 'ON_DEMAND' });
    expect(stream.shard_count).toBeUndefined();
    expect(stream.retention_period).toBe(48);
    expect(named(json, 'aws_lambda_function', name, 'function_name')[1].memory_size).toBe(1024);
    const [, esm] = one(json, 'aws_lambda_event_source_mapping', (b) => b.event_source_arn === ref('aws_kinesis_stream', streamId, 'arn'));
    expect(esm).toMatchObject({ batch_size: 10, maximum_retry_attempts: 5, bisect_batch_on_function_error: true });
    const [, archive] = named(json, 'aws_kinesis_firehose_delivery_stream', `${name}-archive`);
    expect(archive.extended_s3_configuration).toMatchObject({ buffering_interval: 60, buffering_size: 5 });
    expect(family.deployment.stream).toEqual({ name, mode: 'ON_DEMAND', shardCount: 4, retentionHours: 48 });
    expect(family.deployment.eventSource).toMatchObject({ batchSize: 10, maximumRetryAttempts: 5, reportBatchItemFailures: true });
  });

  it('refuses a parallelizationFactor above 1: the processors fence items per shard and need one batch per shard at a time', () => {
    // AWS Lambda Developer Guide, "Using Lambda to process records from Amazon Kinesis Data Streams", section
    // "Polling and batching streams" (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html): with a
    // parallelization factor above 1 Lambda processes several batches of one shard at once and keeps order only per
    // partition key; which key goes to which batch is not documented. No emulator enforces any of it.
    const stack = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
    expect(() => new EventFamily(stack, orders.name, { host: stack, family: orders, eventSource: { parallelizationFactor: 2 } })).toThrow(
      /orders: parallelizationFactor 2 is not supported.*parallelizationFactor 1\. Add shards/,
    );
    for (const env of ENVIRONMENT_NAMES) expect(ENVIRONMENTS[env].eventSource.parallelizationFactor).toBe(1);
  });

  it('refuses the same family twice and a missing bundle, with a message saying what to do', () => {
    const stack = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
    addFamilies(stack);
    expect(() => new EventFamily(stack, orders.name, { host: stack, family: orders })).toThrow(/There is already a Construct with name 'orders'|added twice/);
    const other = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
    expect(() => new EventFamily(other, orders.name, { host: other, family: orders, bundleDir: join(tmpdir(), 'no-such-bundle') })).toThrow(/npm run build/);
  });
});
