/**
 * Renders the API's VTL templates (modules/templates.ts) with velocityjs, in
 * the API Gateway context of local/apigateway-vtl.ts (`$input` over
 * jsonpath-plus, `$util.base64Encode` as UTF-8 base64, `$context`), and checks
 * the exact Kinesis request each route sends and the responses clients get.
 */
import { describe, expect, it } from 'vitest';
import { FAMILIES } from '../handlers/families.js';
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import { orders } from '../handlers/orders/family.js';
import { payments } from '../handlers/payments/family.js';
import { tutoring } from '../handlers/tutoring/family.js';
import { userActivity } from '../handlers/user_activity/family.js';
import { renderTemplate, substituteGatewayResponse } from '../local/apigateway-vtl.js';
import {
  ENTRY_FAILURES,
  GATEWAY_RESPONSES,
  MESSAGES,
  RETRY_AFTER_SECONDS,
  clientErrorResponseTemplate,
  integrationResponses,
  putRecordRequestTemplate,
  putRecordResponseTemplate,
  putRecordsRequestTemplate,
  putRecordsResponseTemplate,
  serverErrorResponseTemplate,
} from '../modules/templates.js';

const STREAM = 'event-flow-test-stream';
const CONTEXT = { requestId: 'c0ffee00-1111-2222-3333-444455556666', requestTimeEpoch: 1_795_000_000_123, identity: { sourceIp: '203.0.113.7' } };

interface KinesisRecord {
  PartitionKey: string;
  Data: string;
}

function decode(data: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as Record<string, unknown>;
}

/** The partition key the spec asks for: the first dotted path present in the body, else the fallback. */
function expectedPartitionKey(family: FamilyDefinition, body: unknown, fallback: string): string {
  for (const path of family.partitionKey) {
    const value = path.split('.').reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), body);
    if (value !== undefined && value !== null && value !== '') return String(value);
  }
  return fallback;
}

function renderSingle(family: FamilyDefinition, body: unknown): { StreamName: string } & KinesisRecord {
  const { output } = renderTemplate(putRecordRequestTemplate(family, STREAM), { body: JSON.stringify(body), context: CONTEXT });
  return JSON.parse(output) as { StreamName: string } & KinesisRecord;
}

function renderBatch(family: FamilyDefinition, records: unknown[]): { StreamName: string; Records: KinesisRecord[] } {
  const { output } = renderTemplate(putRecordsRequestTemplate(family, STREAM), { body: JSON.stringify({ records }), context: CONTEXT });
  return JSON.parse(output) as { StreamName: string; Records: KinesisRecord[] };
}

describe('PutRecord request template (POST /events/<family>)', () => {
  it.each(FAMILIES.map((f) => [f.name, f] as const))('%s: exact Kinesis request; Data decodes to the envelope', (_, family) => {
    const body = family.example;
    const request = renderSingle(family, body);
    expect(Object.keys(request).sort()).toEqual(['Data', 'PartitionKey', 'StreamName']);
    expect(request.StreamName).toBe(STREAM);
    expect(request.PartitionKey).toBe(expectedPartitionKey(family, body, CONTEXT.requestId));
    expect(request.PartitionKey).not.toBe(CONTEXT.requestId);
    expect(decode(request.Data)).toEqual({
      id: CONTEXT.requestId,
      family: family.name,
      key: null,
      receivedAt: CONTEXT.requestTimeEpoch,
      sourceIp: '203.0.113.7',
      data: body,
    });
  });

  it('uses the entity as partition key: the order for orders, the student (then tutor, then subject) for tutoring', () => {
    expect(renderSingle(orders, orders.example).PartitionKey).toBe('o-1001');
    expect(renderSingle(tutoring, tutoring.example).PartitionKey).toBe('stu_456');
    const noStudent = { event_type: 'tutor_availability_updated', payload: { tutor_id: 'tut_9', subject: 'physics' } };
    expect(renderSingle(tutoring, noStudent).PartitionKey).toBe('tut_9');
    const subjectOnly = { event_type: 'supply_demand_update', payload: { subject: 'chemistry', region: 'emea' } };
    expect(renderSingle(tutoring, subjectOnly).PartitionKey).toBe('chemistry');
  });

  it('falls back to the request id when no partition-key field is present', () => {
    const request = renderSingle(userActivity, { action: 'page_view' });
    expect(request.PartitionKey).toBe(CONTEXT.requestId);
    expect(decode(request.Data).data).toEqual({ action: 'page_view' });
  });

  it('carries the client idempotency key into the envelope', () => {
    const body = { ...(payments.example as Record<string, unknown>), event_id: 'evt-42' };
    expect(decode(renderSingle(payments, body).Data)).toMatchObject({ id: CONTEXT.requestId, key: 'evt-42', data: body });
  });

  it('keeps quotes, backslashes, unicode and nested objects intact through base64', () => {
    const body = {
      user_id: 'u-7',
      action: 'search',
      metadata: {
        query: 'say "hello" \\ it\'s {braces} $dollar #hash',
        text: 'Grüße, 東京, emoji 🎉, rtl שלום',
        nested: { deeper: { list: [1, 2.5, null, true, { k: 'v' }], empty: {} } },
        newline: 'line1\nline2\ttab',
      },
    };
    const request = renderSingle(userActivity, body);
    expect(request.PartitionKey).toBe('u-7');
    expect(decode(request.Data).data).toEqual(body);
    // The base64 is of UTF-8 bytes, as Kinesis stores them.
    expect(Buffer.from(request.Data, 'base64').toString('utf8')).toContain('東京');
  });
});

describe('PutRecords request template (POST /events/<family>/batch)', () => {
  it.each(FAMILIES.map((f) => [f.name, f] as const))('%s: one Kinesis record per event, in order, each with its own envelope', (_, family) => {
    const example = family.example as Record<string, unknown>;
    const records = [example, { ...example, event_id: 'evt-2' }, example];
    const request = renderBatch(family, records);
    expect(Object.keys(request).sort()).toEqual(['Records', 'StreamName']);
    expect(request.StreamName).toBe(STREAM);
    expect(request.Records).toHaveLength(3);
    request.Records.forEach((record, i) => {
      expect(Object.keys(record).sort()).toEqual(['Data', 'PartitionKey']);
      expect(record.PartitionKey).toBe(expectedPartitionKey(family, records[i], `${CONTEXT.requestId}:${i}`));
      expect(decode(record.Data)).toEqual({
        id: `${CONTEXT.requestId}:${i}`,
        family: family.name,
        key: i === 1 ? 'evt-2' : null,
        receivedAt: CONTEXT.requestTimeEpoch,
        sourceIp: '203.0.113.7',
        data: records[i],
      });
    });
  });

  it('gives each keyless record its own fallback partition key, and keeps unicode per record', () => {
    const records = [{ action: 'a' }, { user_id: 'u-1', action: 'b', metadata: { s: 'ça "va" ✓' } }, { action: 'c' }];
    const request = renderBatch(userActivity, records);
    expect(request.Records.map((r) => r.PartitionKey)).toEqual([`${CONTEXT.requestId}:0`, 'u-1', `${CONTEXT.requestId}:2`]);
    expect(request.Records.map((r) => decode(r.Data).data)).toEqual(records);
  });
});

describe('integration responses', () => {
  const status = (pattern: string | undefined, code: string) => pattern === undefined || new RegExp(`^${pattern}$`).test(code);

  it('selects 202 by default, the 4xx mapping for Kinesis 4xx and 500 for Kinesis 5xx', () => {
    for (const route of ['single', 'batch'] as const) {
      const specs = integrationResponses(route);
      const select = (code: string) => specs.find((s) => s.selectionPattern !== undefined && status(s.selectionPattern, code)) ?? specs.find((s) => s.selectionPattern === undefined);
      expect(select('200')!.statusCode).toBe('202');
      expect(select('400')!.statusCode).toBe('400');
      expect(select('503')!.statusCode).toBe('500');
    }
  });

  it('single: 202 body with the id, sequence number and shard', () => {
    const { output, statusOverride } = renderTemplate(putRecordResponseTemplate(), {
      body: JSON.stringify({ SequenceNumber: '49590338271490256608559692538361571095921575989136588898', ShardId: 'shardId-000000000001' }),
      context: CONTEXT,
    });
    expect(statusOverride).toBeUndefined();
    expect(JSON.parse(output)).toEqual({
      id: CONTEXT.requestId,
      sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
      shardId: 'shardId-000000000001',
    });
  });

  it('batch: 202 body with failedRecordCount and per-record results; a failed entry has its public code, a message and whether to retry it', () => {
    const kinesis = {
      FailedRecordCount: 3,
      Records: [
        { SequenceNumber: '111', ShardId: 'shardId-000000000000' },
        { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard shardId-000000000000 in stream x under account 111122223333.' },
        { SequenceNumber: '113', ShardId: 'shardId-000000000001' },
        { ErrorCode: 'KMSAccessDeniedException', ErrorMessage: 'User arn:aws:sts::111122223333:assumed-role/x is not authorized to use key y' },
        { ErrorCode: 'SomethingNewException', ErrorMessage: 'account 111122223333' },
      ],
    };
    const { output } = renderTemplate(putRecordsResponseTemplate(), { body: JSON.stringify(kinesis), context: CONTEXT });
    expect(JSON.parse(output)).toEqual({
      failedRecordCount: 3,
      records: [
        { id: `${CONTEXT.requestId}:0`, sequenceNumber: '111', shardId: 'shardId-000000000000' },
        {
          id: `${CONTEXT.requestId}:1`,
          errorCode: 'ProvisionedThroughputExceededException',
          message: ENTRY_FAILURES.ProvisionedThroughputExceededException!.message,
          retryable: true,
        },
        { id: `${CONTEXT.requestId}:2`, sequenceNumber: '113', shardId: 'shardId-000000000001' },
        { id: `${CONTEXT.requestId}:3`, errorCode: 'KMSAccessDeniedException', message: ENTRY_FAILURES.KMSAccessDeniedException!.message, retryable: false },
        { id: `${CONTEXT.requestId}:4`, errorCode: 'SomethingNewException', message: 'Kinesis refused this record.', retryable: false },
      ],
    });
    expect(output).not.toContain('111122223333');
  });

  const kinesisError = (type: string, message: string) =>
    renderTemplate(clientErrorResponseTemplate(), { body: JSON.stringify({ __type: type, message }), context: CONTEXT });

  it.each([
    ['ProvisionedThroughputExceededException', 'Rate exceeded for shard shardId-000000000000 under account 111122223333.', 429, MESSAGES.throttled, true],
    ['LimitExceededException', 'Limit exceeded', 429, MESSAGES.throttled, true],
    ['ValidationException', "1 validation error detected: Value at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576", 413, MESSAGES.tooLarge, false],
    ['ValidationException', 'Partition key too long', undefined, MESSAGES.rejected, false],
    ['InvalidArgumentException', 'bad argument', undefined, MESSAGES.rejected, false],
    ['AccessDeniedException', 'User arn:aws:sts::111122223333:assumed-role/x is not authorized', 500, MESSAGES.internal, true],
    ['ResourceNotFoundException', 'Stream event-flow-dev-x under account 111122223333 not found.', 500, MESSAGES.internal, true],
  ])('Kinesis %s → status %s via $context.responseOverride.status, no internals', (type, message, expectedStatus, expectedMessage, retryable) => {
    const { output, statusOverride, headerOverrides } = kinesisError(type, message);
    expect(statusOverride).toBe(expectedStatus);
    expect(JSON.parse(output)).toEqual({ message: expectedMessage, retryable });
    expect(output).not.toContain('111122223333');
    // A 429 says when to come back.
    expect(headerOverrides['Retry-After']).toBe(expectedStatus === 429 ? String(RETRY_AFTER_SECONDS) : undefined);
    expect(headerOverrides['Access-Control-Expose-Headers']).toBe(expectedStatus === 429 ? 'Retry-After' : undefined);
  });

  it('Kinesis 5xx → 500 with a generic message', () => {
    const { output, statusOverride } = renderTemplate(serverErrorResponseTemplate(), {
      body: JSON.stringify({ __type: 'InternalFailure', message: 'internal details' }),
      context: CONTEXT,
    });
    expect(statusOverride).toBeUndefined();
    expect(JSON.parse(output)).toEqual({ message: MESSAGES.internal, retryable: true });
  });
});

describe('gateway responses', () => {
  it('are JSON; the invalid-body response carries the validator message', () => {
    // Gateway-response templates get plain substitution (no VTL, no $util); API Gateway's
    // validationErrorString arrives with its quotes JSON-escaped, as in its documented examples.
    const reason = '[object has missing required properties (["user_id"])]';
    const escaped = JSON.stringify(reason).slice(1, -1);
    const output = substituteGatewayResponse(GATEWAY_RESPONSES.BAD_REQUEST_BODY!.template, { context: { ...CONTEXT, error: { validationErrorString: escaped } } });
    expect(JSON.parse(output)).toEqual({ message: `Invalid request body: ${reason}` });
    expect(GATEWAY_RESPONSES.MISSING_AUTHENTICATION_TOKEN!.statusCode).toBe('404');
    for (const spec of Object.values(GATEWAY_RESPONSES)) {
      expect(JSON.parse(substituteGatewayResponse(spec.template, { context: { ...CONTEXT, error: { message: 'Forbidden' } } }))).toHaveProperty('message');
    }
  });

  it('use no VTL: API Gateway does not run Velocity on them, it only substitutes variables', () => {
    for (const [type, spec] of Object.entries(GATEWAY_RESPONSES)) expect(spec.template, type).not.toMatch(/#(set|if|foreach|else|end)\b|\$util\./);
  });

  it('429 for the stage throttle says when to retry; every type not configured falls back to a default with CORS', () => {
    expect(GATEWAY_RESPONSES.THROTTLED!.headers).toEqual({ 'Retry-After': String(RETRY_AFTER_SECONDS), 'Access-Control-Expose-Headers': 'Retry-After' });
    expect(GATEWAY_RESPONSES.DEFAULT_4XX).toBeDefined();
    expect(GATEWAY_RESPONSES.DEFAULT_5XX).toBeDefined();
  });
});
