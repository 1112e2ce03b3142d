/**
 * Conformance of local mode's mapping-template runtime (local/apigateway-vtl.ts)
 * with templates rendered on real API Gateway (./recorded-apigateway.ts), and
 * the runtime functions the project's own templates use, on the synthesized
 * templates of modules/templates.ts.
 */
import { describe, expect, it } from 'vitest';
import { orders } from '../../handlers/orders/family.js';
import { userActivity } from '../../handlers/user_activity/family.js';
import { renderTemplate } from '../../local/apigateway-vtl.js';
import { putRecordRequestTemplate, putRecordsRequestTemplate, putRecordsResponseTemplate, putRecordResponseTemplate } from '../../modules/templates.js';
import { KINESIS_INTEGRATION, TEMPLATE_RUNTIME, VELOCITY_RULES } from './recorded-apigateway.js';

describe(`$input.path values as API Gateway prints them (${TEMPLATE_RUNTIME.pathFormatting.source.where} ${TEMPLATE_RUNTIME.pathFormatting.source.case})`, () => {
  it.each(TEMPLATE_RUNTIME.pathFormatting.cases.map((c) => [c.template, JSON.stringify(c.body) ?? '(no body)', c] as const))('%s with %s', (_, __, c) => {
    expect(renderTemplate(c.template, { body: c.body === undefined ? '' : JSON.stringify(c.body) }).output).toBe(c.output);
  });
});

describe(`$input.body as API Gateway gives it (${TEMPLATE_RUNTIME.bodyFormatting.source.case})`, () => {
  it.each(TEMPLATE_RUNTIME.bodyFormatting.cases.map((c) => [c.template, JSON.stringify(c.body), c] as const))('%s with %s', (_, __, c) => {
    expect(renderTemplate(c.template, { body: c.body }).output).toBe(c.output);
  });
});

describe(`Velocity 1.7 rules (${VELOCITY_RULES.source.where})`, () => {
  it.each(VELOCITY_RULES.cases.map((c) => [c.template, c] as const))('%s', (_, c) => {
    expect(renderTemplate(c.template, { body: '{}' }).output).toBe(c.output);
  });
});

describe('the functions the project\'s templates use, on the synthesized templates', () => {
  const context = { requestId: 'req-1', requestTimeEpoch: 1_795_000_000_123, identity: { sourceIp: '203.0.113.7' } };
  const decode = (data: string) => Buffer.from(data, 'base64').toString('utf8');

  it('$input.json passes numbers through as text: no JSON round trip through doubles', () => {
    const body = '{"user_id":"u-1","action":"a","metadata":{"big":12345678901234567890,"huge":1e400,"tiny":1E-400,"exact":0.10000000000000000555}}';
    const request = JSON.parse(renderTemplate(putRecordRequestTemplate(userActivity, 's'), { body, context }).output) as { Data: string };
    const data = decode(request.Data);
    expect(data).toContain('"data":{"user_id":"u-1","action":"a","metadata":{"big":12345678901234567890,"huge":1e400,"tiny":1E-400,"exact":0.10000000000000000555}}');
  });

  it('the batch template keeps each record\'s numbers too', () => {
    const body = '{"records":[{"user_id":"u-1","action":"a","metadata":{"n":12345678901234567890}},{"user_id":"u-2","action":"b","metadata":{"n":1e400}}]}';
    const request = JSON.parse(renderTemplate(putRecordsRequestTemplate(userActivity, 's'), { body, context }).output) as { Records: Array<{ Data: string }> };
    expect(decode(request.Records[0]!.Data)).toContain('"n":12345678901234567890');
    expect(decode(request.Records[1]!.Data)).toContain('"n":1e400');
  });

  it('$util.base64Encode, $input.path, $foreach and "$!ref" == "" over every route\'s request template', () => {
    const body = JSON.stringify({ ...orders.example, event_id: 'e-1' });
    const request = JSON.parse(renderTemplate(putRecordRequestTemplate(orders, 's'), { body, context }).output) as { PartitionKey: string; Data: string };
    expect(request.PartitionKey).toBe('o-1001');
    expect(JSON.parse(decode(request.Data))).toMatchObject({ id: 'req-1', key: 'e-1', receivedAt: 1_795_000_000_123, sourceIp: '203.0.113.7' });
  });

  it(`integration responses read the recorded Kinesis answer fields (${KINESIS_INTEGRATION.source.where})`, () => {
    const single = Object.fromEntries(KINESIS_INTEGRATION.putRecord.fields.map((f) => [f, `${f}-value`]));
    expect(JSON.parse(renderTemplate(putRecordResponseTemplate(), { body: JSON.stringify(single), context }).output)).toEqual({
      id: 'req-1',
      sequenceNumber: 'SequenceNumber-value',
      shardId: 'ShardId-value',
    });
    const failed = Object.fromEntries(KINESIS_INTEGRATION.failedEntryFields.map((f) => [f, f === 'ErrorCode' ? 'ProvisionedThroughputExceededException' : 'Rate exceeded for shard in account 123456789012']));
    const batch = { FailedRecordCount: 1, Records: [Object.fromEntries(KINESIS_INTEGRATION.putRecords.recordFields.map((f) => [f, f])), failed] };
    const rendered = JSON.parse(renderTemplate(putRecordsResponseTemplate(), { body: JSON.stringify(batch), context }).output) as { records: Array<Record<string, unknown>> };
    expect(rendered.records[0]).toEqual({ id: 'req-1:0', sequenceNumber: 'SequenceNumber', shardId: 'ShardId' });
    expect(rendered.records[1]).toMatchObject({ id: 'req-1:1', errorCode: 'ProvisionedThroughputExceededException', retryable: true });
    expect(rendered.records[1]!.message).toEqual(expect.any(String));
    expect(JSON.stringify(rendered)).not.toContain('123456789012');
  });
});
