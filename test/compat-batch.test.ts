/**
 * The seeds' compatibility batch route, `POST /events/batch/<family>` with
 * `{"records":[{"data":"<event as JSON text>","partitionKey":"..."}]}`:
 * its synthesized API Gateway resources, its VTL template rendered as API
 * Gateway renders it (and decoded by the processor's own decodeRecord), and
 * end to end through local mode (a valid record applied, an invalid one in the
 * malformed sink).
 */
import { rmSync } from 'node:fs';
import { Testing } from 'cdktf';
import type { KinesisStreamRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orders } from '../handlers/orders/family.js';
import { payments } from '../handlers/payments/family.js';
import { decodeRecord, type TimeBounds } from '../handlers/runtime/envelope.js';
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import { tutoring } from '../handlers/tutoring/family.js';
import { userActivity } from '../handlers/user_activity/family.js';
import { renderTemplate } from '../local/apigateway-vtl.js';
import { startLocal, type LocalPipeline } from '../local/index.js';
import { compileValidators } from '../local/validation.js';
import { addFamilies } from '../modules/app.js';
import { ENVIRONMENTS } from '../modules/environments.js';
import { fromTfLiteral } from '../modules/iam.js';
import { compatBatchModel, MAX_PARTITION_KEY_LENGTH, modelName } from '../modules/models.js';
import { PipelineStack } from '../modules/pipeline-stack.js';
import { one, resources, synthJson, type TfJson } from './support/synthesized.js';
import { compatPutRecordsRequestTemplate, putRecordsResponseTemplate } from '../modules/templates.js';
import { eventually, fastWindows, post, scanAll, tempStateDir } from './local/helpers.js';

/** The records here are made now; the processor's default tolerance (a day) applies. */
const DAY_TOLERANCE: TimeBounds = { referenceMs: Date.now(), futureToleranceMs: 86_400_000 };

const FAMILIES: FamilyDefinition[] = [userActivity, orders, payments, tutoring];
const STREAM = 'event-flow-test-stream';
const CONTEXT = { requestId: 'c0ffee00-1111-2222-3333-444455556666', requestTimeEpoch: 1_795_000_000_123, identity: { sourceIp: '203.0.113.7' } };

interface Rendered {
  StreamName: string;
  Records: Array<{ PartitionKey: string; Data: string }>;
}

function render(family: FamilyDefinition, records: unknown[]): Rendered {
  const { output } = renderTemplate(compatPutRecordsRequestTemplate(family, STREAM), { body: JSON.stringify({ records }), context: CONTEXT });
  return JSON.parse(output) as Rendered;
}

function asKinesisRecord(data: string, partitionKey: string): KinesisStreamRecord {
  return {
    kinesis: { data, partitionKey, sequenceNumber: '1', kinesisSchemaVersion: '1.0', approximateArrivalTimestamp: 1 },
  } as KinesisStreamRecord;
}

describe('compatibility batch template (POST /events/batch/<family>)', () => {
  it.each(FAMILIES.map((f) => [f.name, f] as const))('%s: one PutRecords with the given partition keys; the processor decodes the event', (_, family) => {
    const text = JSON.stringify(family.example);
    const request = render(family, [
      { data: text, partitionKey: 'pk-a' },
      { data: text, partitionKey: 'pk-b' },
    ]);
    expect(request.StreamName).toBe(STREAM);
    expect(request.Records.map((r) => r.PartitionKey)).toEqual(['pk-a', 'pk-b']);
    const envelope = JSON.parse(Buffer.from(request.Records[1]!.Data, 'base64').toString('utf8'));
    expect(envelope).toEqual({
      id: `${CONTEXT.requestId}:1`,
      family: family.name,
      key: null,
      receivedAt: CONTEXT.requestTimeEpoch,
      sourceIp: '203.0.113.7',
      encoding: 'json',
      data: text,
    });
    const decoded = decodeRecord(family, asKinesisRecord(request.Records[1]!.Data, 'pk-b'), DAY_TOLERANCE);
    expect(decoded).toMatchObject({ ok: true, event: family.example });
  });

  it('keeps hostile text inside the data string and the partition key (no envelope field can be injected)', () => {
    const hostile = `{"user_id":"u-1","action":"x"},"family":"orders","key":"stolen`;
    const key = `a"b\\c\n${'é'.repeat(3)}`;
    const request = render(userActivity, [{ data: hostile, partitionKey: key }]);
    expect(request.Records[0]!.PartitionKey).toBe(key);
    const envelope = JSON.parse(Buffer.from(request.Records[0]!.Data, 'base64').toString('utf8'));
    expect(envelope).toMatchObject({ family: 'user_activity', key: null, data: hostile });
    expect(decodeRecord(userActivity, asKinesisRecord(request.Records[0]!.Data, key), DAY_TOLERANCE)).toMatchObject({ ok: false, reason: 'not_json' });
  });

  it('the processor reads the idempotency key from the data (the edge cannot) and refuses invalid events', () => {
    const event = { ...userActivity.example, event_id: 'evt-77' };
    const [valid, invalid] = render(userActivity, [
      { data: JSON.stringify(event), partitionKey: 'u-1' },
      { data: JSON.stringify({ user_id: 'u-1' }), partitionKey: 'u-1' },
    ]).Records;
    const ok = decodeRecord(userActivity, asKinesisRecord(valid!.Data, 'u-1'), DAY_TOLERANCE);
    expect(ok.ok && ok.envelope.key).toBe('evt-77');
    expect(decodeRecord(userActivity, asKinesisRecord(invalid!.Data, 'u-1'), DAY_TOLERANCE)).toMatchObject({ ok: false, reason: 'invalid_event', issues: expect.stringContaining('action') });
  });

  it('the model bounds partition keys to 1..256 characters (Kinesis PutRecordsRequestEntry) and requires both fields', () => {
    // Source: Amazon Kinesis Data Streams API Reference, PutRecordsRequestEntry: "PartitionKey ... Length Constraints: Minimum length of 1. Maximum length of 256."
    expect(MAX_PARTITION_KEY_LENGTH).toBe(256);
    const problems = compileValidators(orders).compatBatch;
    const validate = (body: Parameters<typeof problems>[0]) => problems(body).length === 0;
    const record = (partitionKey: string) => ({ records: [{ data: '{}', partitionKey }] });
    expect(validate(record('k'.repeat(256)))).toBe(true);
    expect(validate(record('k'.repeat(257)))).toBe(false);
    expect(validate(record(''))).toBe(false);
    expect(validate({ records: [{ data: '{}' }] })).toBe(false);
    expect(validate({ records: [{ data: {}, partitionKey: 'k' }] })).toBe(false);
    expect(validate({ records: [] })).toBe(false);
    expect(validate({ records: Array.from({ length: 501 }, () => ({ data: '{}', partitionKey: 'k' })) })).toBe(false);
  });
});

describe('compatibility batch route in the synthesized stack', () => {
  let tf: TfJson;
  beforeAll(() => {
    const stack = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
    addFamilies(stack);
    tf = synthJson(stack);
  });

  it('has /events/batch/<family> with its model, body validation and a PutRecords integration rendering the same template', () => {
    const [batchId] = one(tf, 'aws_api_gateway_resource', (r) => r.path_part === 'batch' && !String(r.parent_id).includes('family-'));
    for (const family of FAMILIES) {
      const [resourceId] = one(tf, 'aws_api_gateway_resource', (r) => r.path_part === family.name && String(r.parent_id).includes(batchId));
      const [, method] = one(tf, 'aws_api_gateway_method', (m) => String(m.resource_id).includes(`${resourceId}.`) && m.http_method === 'POST');
      const [methodId] = one(tf, 'aws_api_gateway_method', (m) => m === method);
      const [modelId, model] = one(tf, 'aws_api_gateway_model', (m) => m.name === modelName(family, 'CompatBatch'));
      expect(method.request_models['application/json']).toBe(`\${aws_api_gateway_model.${modelId}.name}`);
      expect(method.request_validator_id).toBeDefined();
      expect(JSON.parse(fromTfLiteral(model.schema))).toEqual(compatBatchModel(family));
      const [, integration] = one(tf, 'aws_api_gateway_integration', (i) => String(i.resource_id).includes(`${resourceId}.`) && i.type === 'AWS');
      expect(integration.uri).toMatch(/:kinesis:action\/PutRecords$/);
      expect(integration.passthrough_behavior).toBe('NEVER');
      const stream = `event-flow-dev-${family.name}`;
      expect(fromTfLiteral(integration.request_templates['application/json'])).toBe(compatPutRecordsRequestTemplate(family, stream));
      const responses = resources(tf, 'aws_api_gateway_integration_response').filter(([, r]) => String(r.resource_id).includes(`${resourceId}.`) && r.http_method === `\${aws_api_gateway_method.${methodId}.http_method}`);
      expect(responses.map(([, r]) => r.status_code).sort()).toEqual(['202', '400', '500']);
      const accepted = responses.find(([, r]) => r.status_code === '202')![1];
      expect(fromTfLiteral(accepted.response_templates['application/json'])).toBe(putRecordsResponseTemplate());
    }
  });
});

describe('compatibility batch route through local mode', () => {
  let local: LocalPipeline;
  let stateDir: string;
  beforeAll(async () => {
    stateDir = tempStateDir('compat-batch');
    local = await startLocal({ port: 0, stateDir, quiet: true, deployment: (dev) => fastWindows(dev) });
  });
  afterAll(async () => {
    await local?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('applies a valid record under its partition key and puts an invalid one in the malformed sink', async () => {
    const valid = { user_id: 'u-compat-1', action: 'page_view', event_id: 'compat-evt-1' };
    const response = await post(`${local.apiUrl}/events/batch/user_activity`, {
      records: [
        { data: JSON.stringify(valid), partitionKey: 'seed-key-1' },
        { data: JSON.stringify({ user_id: 'u-compat-2' }), partitionKey: 'seed-key-2' },
        { data: 'not json at all', partitionKey: 'seed-key-3' },
      ],
    });
    expect(response.status).toBe(202);
    expect(response.json.failedRecordCount).toBe(0);
    expect(response.json.records).toHaveLength(3);

    const items = await eventually(async () => {
      const all = await scanAll(local.dynamo, local.deployment.tableName);
      const malformed = all.filter((i) => i.pk === 'user_activity#malformed');
      // The claim is written after the effects, so the profile alone can be seen before it.
      const applied = all.some((i) => i.pk === 'user_activity#user#u-compat-1' && i.sk === 'profile');
      const claimed = all.some((i) => i.pk === 'user_activity#claim#compat-evt-1');
      return applied && claimed && malformed.length >= 2 ? all : undefined;
    }, 30_000, 'the valid record applied and claimed, and both invalid ones in the malformed sink');
    const profile = items.find((i) => i.pk === 'user_activity#user#u-compat-1' && i.sk === 'profile')!;
    expect(Number(profile.total)).toBe(1);
    const claim = items.find((i) => i.pk === 'user_activity#claim#compat-evt-1');
    expect(claim, 'the idempotency key read from data').toBeDefined();
    const reasons = items.filter((i) => i.pk === 'user_activity#malformed').map((i) => JSON.stringify(i));
    expect(reasons.some((r) => r.includes('invalid_event'))).toBe(true);
    expect(reasons.some((r) => r.includes('not_json'))).toBe(true);
    expect(reasons.some((r) => r.includes('seed-key-2'))).toBe(true);
  });

  it('refuses a body the model refuses (partition key over 256 characters) with 400 and sends nothing', async () => {
    const response = await post(`${local.apiUrl}/events/batch/orders`, { records: [{ data: '{}', partitionKey: 'k'.repeat(257) }] });
    expect(response.status).toBe(400);
    expect(response.json.message).toMatch(/^Invalid request body: .*too long/);
  });
});
