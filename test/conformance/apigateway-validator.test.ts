/**
 * Conformance of local mode's request validation (local/validation.ts) with
 * API Gateway's validator, over the synthesized models of every family
 * (modules/models.ts): the recorded texts and walk rules of
 * ./recorded-apigateway.ts, and the edge contract built on them.
 */
import AjvModule from 'ajv-draft-04';
import { describe, expect, it } from 'vitest';
import { orders } from '../../handlers/orders/family.js';
import { tutoring } from '../../handlers/tutoring/family.js';
import { userActivity } from '../../handlers/user_activity/family.js';
import { parseJsonText } from '../../local/json-text.js';
import { compileValidators, validateBody } from '../../local/validation.js';
import { MAX_ECHOED_STRING, discriminatorOf, eventModel } from '../../modules/models.js';
import { VALIDATOR_RULES, VALIDATOR_TEXTS as T, text } from './recorded-apigateway.js';

const check = (family: Parameters<typeof compileValidators>[0], body: string, route: 'single' | 'batch' = 'single') =>
  compileValidators(family)[route](parseJsonText(body));

describe(`validator texts (${T.source.where})`, () => {
  it(`several missing properties: one message, names sorted (${VALIDATOR_RULES.requiredNamesSorted.where})`, () => {
    expect(check(userActivity, '{}')).toEqual([text(T.missingMembers, '["action","user_id"]')]);
  });

  it(`a failed oneOf: one summary line with the counts, none of its branches' messages (${VALIDATOR_RULES.combinatorsSummaryOnly.where})`, () => {
    const schema = { oneOf: [{ type: 'string' }, { type: 'integer', minimum: 10 }, { type: 'object', required: ['a'] }] };
    expect(validateBody(schema, parseJsonText('5'))).toEqual([text(T.oneOfFail, 0, 3)]);
    expect(validateBody({ oneOf: [{ type: 'integer' }, { type: 'number' }] }, parseJsonText('5'))).toEqual([text(T.oneOfFail, 2, 2)]);
    expect(validateBody({ anyOf: [{ type: 'string' }, { type: 'boolean' }] }, parseJsonText('5'))).toEqual([text(T.anyOfFail, 2)]);
  });

  it(`types: the instance's type, the allowed ones in the validator's order, number allowing integer (${VALIDATOR_RULES.typeListOrder.source.where})`, () => {
    expect(check(userActivity, '{"user_id":"u-1","action":7}')).toEqual([text(T.typeNoMatch, 'integer', '["string"]')]);
    expect(validateBody({ type: ['string', 'number', 'array'] }, parseJsonText('true'))).toEqual([text(T.typeNoMatch, 'boolean', '["array","integer","number","string"]')]);
    expect(validateBody({ type: 'integer' }, parseJsonText('1.0'))).toEqual([text(T.typeNoMatch, 'number', '["integer"]')]);
  });

  it(`unknown properties: one message, names sorted (${VALIDATOR_RULES.unwantedOneMessageSorted.where})`, () => {
    expect(check(userActivity, '{"records":[{"user_id":"u","action":"a"}],"zz":1,"aa":2}', 'batch')).toEqual([text(T.additionalNotAllowed, '["aa","zz"]')]);
  });

  it(`nothing deeper is looked at once a node has failed (${VALIDATOR_RULES.noChildrenAfterFailure.where})`, () => {
    // `action` is also the wrong type, but `required` failed at the root first.
    expect(check(userActivity, '{"action":7}')).toEqual([text(T.missingMembers, '["user_id"]')]);
    // Siblings' own checks all run; their children do not.
    const both = check(userActivity, '{"user_id":"u 1","action":"A","timestamp":"yesterday"}');
    expect(both).toEqual(expect.arrayContaining([text(T.invalidDate, 'yesterday', T.dateTimeFormats)]));
    expect(both.filter((m) => m.startsWith('ECMA 262 regex'))).toHaveLength(3);
  });

  it('bounds, lengths and array sizes in the recorded words', () => {
    expect(validateBody({ maximum: 100 }, parseJsonText('101'))).toEqual([text(T.tooLarge, 100, 101)]);
    expect(validateBody({ minimum: 0 }, parseJsonText('-1'))).toEqual([text(T.tooSmall, 0, -1)]);
    expect(validateBody({ maxLength: 2 }, parseJsonText('"abc"'))).toEqual([text(T.tooLong, 'abc', 3, 2)]);
    expect(validateBody({ minLength: 2 }, parseJsonText('"a"'))).toEqual([text(T.tooShort, 'a', 1, 2)]);
    expect(check(userActivity, '{"records":[]}', 'batch')).toEqual([text(T.arrayTooShort, 1, 0)]);
    expect(validateBody({ maxItems: 1 }, parseJsonText('[1,2]'))).toEqual([text(T.arrayTooLong, 1, 2)]);
  });
});

describe('edge contract: the models tell a client what to fix', () => {
  it.each([
    ['orders', orders, 'type', '{"order_id":"o-1","customer_id":"c-1","type":"refunded"}'],
    ['tutoring', tutoring, 'event_type', '{"event_type":"lesson_booked","payload":{}}'],
  ] as const)('%s: an unknown discriminator gets the allowed values first, then the variants\' summary', (_, family, field, body) => {
    const discriminator = discriminatorOf({ oneOf: (eventModel(family).dependencies as Record<string, { oneOf: unknown[] }>)[field]!.oneOf });
    expect(discriminator?.field).toBe(field);
    const messages = check(family, body);
    const value = JSON.parse(body)[field] as string;
    expect(messages[0]).toBe(text(T.notInEnum, JSON.stringify(value), JSON.stringify([...discriminator!.values].sort())));
    expect(messages[1]).toBe(text(T.oneOfFail, 0, discriminator!.values.length));
  });

  it.each([
    ['orders', orders, '{"order_id":"o-1"}', '["customer_id","type"]'],
    ['tutoring', tutoring, '{"payload":{}}', '["event_type"]'],
  ] as const)('%s: a missing discriminator is named first, with the fields every variant needs', (_, family, body, missing) => {
    expect(check(family, body)[0]).toBe(text(T.missingMembers, missing));
  });

  it('a known discriminator with a bad variant: the summary, without the variants\' nested messages', () => {
    expect(check(orders, '{"order_id":"o-1","customer_id":"c-1","type":"created"}')).toEqual([text(T.oneOfFail, 0, 4)]);
  });

  it(`a rejected string is never quoted whole: over its bound (at most ${MAX_ECHOED_STRING} characters) it is refused without being echoed`, () => {
    const huge = 'u'.repeat(1024 * 1024);
    for (const body of [
      `{"user_id":"${huge}","action":"a"}`,
      `{"order_id":"o-1","customer_id":"c-1","type":"${huge}"}`,
      `{"event_type":"session_started","payload":{"session_id":"s","student_id":"${huge}","tutor_id":"t"}}`,
    ]) {
      const family = body.includes('order_id') ? orders : body.includes('event_type') ? tutoring : userActivity;
      const messages = check(family, body);
      expect(messages.length).toBeGreaterThan(0);
      expect(messages.join('').length).toBeLessThan(2 * MAX_ECHOED_STRING);
    }
    // Short bad values are still quoted, so the client sees what was wrong.
    expect(check(userActivity, '{"user_id":"u 1","action":"a"}')[0]).toContain('"u 1"');
  });

  it('a bad event in a batch: the validator\'s messages carry no index (API Gateway cannot say which record; see the README)', () => {
    const messages = check(userActivity, '{"records":[{"user_id":"u","action":"a"},{"user_id":"u"}]}', 'batch');
    expect(messages).toEqual([text(T.missingMembers, '["action"]')]);
  });

  it('valid bodies stay valid: every family\'s example passes its model, single and batch', () => {
    for (const family of [orders, tutoring, userActivity]) {
      expect(check(family, JSON.stringify(family.example))).toEqual([]);
      expect(check(family, JSON.stringify({ records: [family.example, family.example] }), 'batch')).toEqual([]);
    }
  });
});

describe('the interpreter accepts and refuses what a standard draft-4 validator does (ajv-draft-04)', () => {
  const Ajv = AjvModule.default;
  const bodies = (family: typeof orders | typeof tutoring | typeof userActivity) => [
    JSON.stringify(family.example),
    '{}',
    '[]',
    '"x"',
    JSON.stringify({ ...family.example, extra: 1 }),
    JSON.stringify({ ...family.example, timestamp: '2026-11-23T10:00:00Z' }),
    JSON.stringify({ ...family.example, timestamp: 'yesterday' }),
    JSON.stringify({ ...family.example, event_id: 'a b' }),
    JSON.stringify({ ...family.example, type: 'refunded', event_type: 'nope' }),
    JSON.stringify({ ...family.example, items: [{ sku: 's', quantity: 0 }] }),
    JSON.stringify({ ...family.example, payload: { student_id: 'x'.repeat(2000) } }),
  ];
  it.each([
    ['orders', orders],
    ['tutoring', tutoring],
    ['user_activity', userActivity],
  ] as const)('%s', (_, family) => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addFormat('date-time', (v: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,12})?(Z|[+-]\d{2}:?\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)));
    const standard = ajv.compile(eventModel(family));
    for (const body of bodies(family)) expect(check(family, body).length === 0, body).toBe(standard(JSON.parse(body)));
  });
});
