/**
 * Request validation as API Gateway does it. API Gateway validates bodies
 * against draft-4 models with java-json-tools' json-schema-validator; this is
 * a small interpreter of the draft-4 keywords the models use that walks a
 * body the way that validator does and words its messages the same way (the
 * recorded texts and rules are in test/conformance/recorded-apigateway.ts):
 *
 * - a node's keywords run in keyword-name order (format last), each only on
 *   the instance types it applies to;
 * - children are visited, in sorted property-name order, only while the whole
 *   report is still clean: after the first error nothing deeper is looked at;
 * - `allOf`, `anyOf`, `oneOf` and `not` keep their branches' messages to
 *   themselves and report one summary line (`matched 0 out of 4`);
 * - `required` and `additionalProperties` report one message each, names sorted.
 *
 * `$context.error.validationErrorString` is the list of messages in brackets.
 */
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import { batchModel, compatBatchModel, eventModel, type JsonSchema } from '../modules/models.js';
import { JsonNumber, writeJsonText, type JsonValue } from './json-text.js';

export type Validate = (body: JsonValue) => string[];

export interface FamilyValidators {
  readonly single: Validate;
  readonly batch: Validate;
  /** `POST /events/batch/<family>`, the compatibility route. */
  readonly compatBatch: Validate;
}

export function compileValidators(family: FamilyDefinition): FamilyValidators {
  const single = eventModel(family);
  const batch = batchModel(family);
  const compatBatch = compatBatchModel(family);
  return { single: (body) => validateBody(single, body), batch: (body) => validateBody(batch, body), compatBatch: (body) => validateBody(compatBatch, body) };
}

type NodeType = 'array' | 'boolean' | 'integer' | 'null' | 'number' | 'object' | 'string';

/** json-schema-validator's NodeType order, in which `allowed:` lists the types. */
const NODE_TYPES: readonly NodeType[] = ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'];

function nodeType(value: JsonValue): NodeType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof JsonNumber) return value.isIntegerLiteral ? 'integer' : 'number';
  if (typeof value === 'object') return 'object';
  return typeof value as 'boolean' | 'string';
}

const isObject = (v: JsonValue): v is { [k: string]: JsonValue } => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonNumber);
const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const codePoints = (s: string) => [...s].length;
/** Jackson's toString of a node: compact JSON. */
const show = (v: JsonValue | readonly JsonValue[] | unknown) => writeJsonText(v);

function equal(a: JsonValue, b: unknown): boolean {
  if (a instanceof JsonNumber) return (typeof b === 'number' && a.value === b) || (b instanceof JsonNumber && a.value === b.value);
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isObject(a)) {
    if (b === null || typeof b !== 'object' || Array.isArray(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => own(b, k) && equal(a[k]!, (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/** joda-time patterns json-schema-validator names in its date-time message. */
const DATE_TIME_FORMATS = "[yyyy-MM-dd'T'HH:mm:ssZ, yyyy-MM-dd'T'HH:mm:ss.[0-9]{1,12}Z]";
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,12})?(Z|[+-]\d{2}:?\d{2})$/;

interface Report {
  readonly messages: string[];
}

type KeywordCheck = (schema: JsonSchema, value: JsonValue, report: Report) => void;

const STRING_ONLY = new Set<NodeType>(['string']);
const NUMERIC = new Set<NodeType>(['integer', 'number']);
const ARRAY_ONLY = new Set<NodeType>(['array']);
const OBJECT_ONLY = new Set<NodeType>(['object']);

/** Keyword validators by name: the instance types each applies to, and the check. Iterated in name order. */
const KEYWORDS: ReadonlyArray<readonly [string, ReadonlySet<NodeType> | undefined, KeywordCheck]> = (
  [
    [
      'additionalProperties',
      OBJECT_ONLY,
      (schema, value, report) => {
        if (schema.additionalProperties !== false) return;
        const declared = (schema.properties ?? {}) as Record<string, unknown>;
        const patterns = Object.keys((schema.patternProperties ?? {}) as object).map((p) => new RegExp(p));
        const unwanted = Object.keys(value as object)
          .filter((k) => !own(declared, k) && !patterns.some((p) => p.test(k)))
          .sort();
        if (unwanted.length > 0) report.messages.push(`object instance has properties which are not allowed by the schema: ${show(unwanted)}`);
      },
    ],
    [
      'allOf',
      undefined,
      (schema, value, report) => {
        const branches = schema.allOf as JsonSchema[];
        const matched = branches.filter((b) => matches(b, value)).length;
        if (matched !== branches.length) report.messages.push(`instance failed to match all required schemas (matched only ${matched} out of ${branches.length})`);
      },
    ],
    [
      'anyOf',
      undefined,
      (schema, value, report) => {
        const branches = schema.anyOf as JsonSchema[];
        if (!branches.some((b) => matches(b, value))) report.messages.push(`instance failed to match at least one required schema among ${branches.length}`);
      },
    ],
    [
      'dependencies',
      OBJECT_ONLY,
      (schema, value, report) => {
        const object = value as { [k: string]: JsonValue };
        for (const [field, dependency] of Object.entries(schema.dependencies as Record<string, unknown>)) {
          if (!own(object, field)) continue;
          if (Array.isArray(dependency)) {
            const missing = (dependency as string[]).filter((d) => !own(object, d));
            if (missing.length > 0) {
              report.messages.push(`property "${field}" of object has missing property dependencies (schema requires ${show(dependency)}; missing: ${show(missing)})`);
            }
          } else {
            // A schema dependency validates the same instance into the same report: its messages are visible.
            walk(dependency as JsonSchema, value, report);
          }
        }
      },
    ],
    [
      'enum',
      undefined,
      (schema, value, report) => {
        const values = schema.enum as unknown[];
        if (!values.some((v) => equal(value, v))) report.messages.push(`instance value (${show(value)}) not found in enum (possible values: ${show(values)})`);
      },
    ],
    [
      'maxItems',
      ARRAY_ONLY,
      (schema, value, report) => {
        const n = (value as JsonValue[]).length;
        if (n > Number(schema.maxItems)) report.messages.push(`array is too long: must have at most ${String(schema.maxItems)} elements but instance has ${n} elements`);
      },
    ],
    [
      'maxLength',
      STRING_ONLY,
      (schema, value, report) => {
        const n = codePoints(value as string);
        if (n > Number(schema.maxLength)) report.messages.push(`string "${value as string}" is too long (length: ${n}, maximum allowed: ${String(schema.maxLength)})`);
      },
    ],
    [
      'maxProperties',
      OBJECT_ONLY,
      (schema, value, report) => {
        const n = Object.keys(value as object).length;
        if (n > Number(schema.maxProperties)) report.messages.push(`object has too many properties (found ${n} but schema requires at most ${String(schema.maxProperties)})`);
      },
    ],
    [
      'maximum',
      NUMERIC,
      (schema, value, report) => {
        const n = (value as JsonNumber).value;
        const max = Number(schema.maximum);
        if (schema.exclusiveMaximum === true ? n >= max : n > max) {
          report.messages.push(
            schema.exclusiveMaximum === true
              ? `numeric instance is not strictly lower than the required maximum ${String(schema.maximum)}`
              : `numeric instance is greater than the required maximum (maximum: ${String(schema.maximum)}, found: ${(value as JsonNumber).raw})`,
          );
        }
      },
    ],
    [
      'minItems',
      ARRAY_ONLY,
      (schema, value, report) => {
        const n = (value as JsonValue[]).length;
        if (n < Number(schema.minItems)) report.messages.push(`array is too short: must have at least ${String(schema.minItems)} elements but instance has ${n} elements`);
      },
    ],
    [
      'minLength',
      STRING_ONLY,
      (schema, value, report) => {
        const n = codePoints(value as string);
        if (n < Number(schema.minLength)) report.messages.push(`string "${value as string}" is too short (length: ${n}, required minimum: ${String(schema.minLength)})`);
      },
    ],
    [
      'minProperties',
      OBJECT_ONLY,
      (schema, value, report) => {
        const n = Object.keys(value as object).length;
        if (n < Number(schema.minProperties)) report.messages.push(`object has too few properties (found ${n} but schema requires at least ${String(schema.minProperties)})`);
      },
    ],
    [
      'minimum',
      NUMERIC,
      (schema, value, report) => {
        const n = (value as JsonNumber).value;
        const min = Number(schema.minimum);
        if (schema.exclusiveMinimum === true ? n <= min : n < min) {
          report.messages.push(
            schema.exclusiveMinimum === true
              ? `numeric instance is not strictly greater than the required minimum ${String(schema.minimum)}`
              : `numeric instance is lower than the required minimum (minimum: ${String(schema.minimum)}, found: ${(value as JsonNumber).raw})`,
          );
        }
      },
    ],
    [
      'not',
      undefined,
      (schema, value, report) => {
        if (matches(schema.not as JsonSchema, value)) report.messages.push('instance matched a schema which it should not have');
      },
    ],
    [
      'oneOf',
      undefined,
      (schema, value, report) => {
        const branches = schema.oneOf as JsonSchema[];
        const matched = branches.filter((b) => matches(b, value)).length;
        if (matched !== 1) report.messages.push(`instance failed to match exactly one schema (matched ${matched} out of ${branches.length})`);
      },
    ],
    [
      'pattern',
      STRING_ONLY,
      (schema, value, report) => {
        // ECMA 262 search semantics (not a whole-string match), as the validator's Rhino regexes.
        if (!new RegExp(String(schema.pattern)).test(value as string)) {
          report.messages.push(`ECMA 262 regex "${String(schema.pattern)}" does not match input string "${value as string}"`);
        }
      },
    ],
    [
      'required',
      OBJECT_ONLY,
      (schema, value, report) => {
        const missing = [...(schema.required as string[])].sort().filter((name) => !own(value as object, name));
        if (missing.length > 0) report.messages.push(`object has missing required properties (${show(missing)})`);
      },
    ],
    [
      'type',
      undefined,
      (schema, value, report) => {
        const declared = new Set<string>(Array.isArray(schema.type) ? (schema.type as string[]) : [String(schema.type)]);
        if (declared.has('number')) declared.add('integer');
        const found = nodeType(value);
        if (!declared.has(found)) {
          const allowed = NODE_TYPES.filter((t) => declared.has(t));
          report.messages.push(`instance type (${found}) does not match any allowed primitive type (allowed: ${show(allowed)})`);
        }
      },
    ],
    [
      'uniqueItems',
      ARRAY_ONLY,
      (schema, value, report) => {
        const items = value as JsonValue[];
        if (schema.uniqueItems === true && items.some((x, i) => items.findIndex((y) => equal(x, y)) !== i)) report.messages.push('array must not contain duplicate elements');
      },
    ],
  ] as const
);

function checkFormat(schema: JsonSchema, value: JsonValue, report: Report): void {
  if (schema.format === 'date-time' && typeof value === 'string' && !(DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)))) {
    report.messages.push(`string "${value}" is invalid against requested date format(s) ${DATE_TIME_FORMATS}`);
  }
}

/** Validates `value` against `schema` into `report`, the way the validator's InstanceValidator walks. */
function walk(schema: JsonSchema, value: JsonValue, report: Report): void {
  // The models are generated without references; one appearing must not pass silently.
  if (own(schema, '$ref')) throw new Error(`$ref is not supported by the local validator: ${String(schema.$ref)}`);
  const type = nodeType(value);
  for (const [keyword, types, check] of KEYWORDS) {
    if (!own(schema, keyword)) continue;
    if (types && !types.has(type)) continue;
    check(schema, value, report);
  }
  if (own(schema, 'format') && type === 'string') checkFormat(schema, value, report);
  // Children only while nothing at all has failed yet.
  if (report.messages.length > 0) return;
  if (Array.isArray(value)) {
    const items = schema.items;
    value.forEach((element, index) => {
      const child = Array.isArray(items)
        ? ((items[index] as JsonSchema | undefined) ?? (typeof schema.additionalItems === 'object' ? (schema.additionalItems as JsonSchema) : undefined))
        : (items as JsonSchema | undefined);
      if (child) walk(child, element, report);
    });
  } else if (isObject(value)) {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const patterns = Object.entries((schema.patternProperties ?? {}) as Record<string, JsonSchema>);
    const additional = typeof schema.additionalProperties === 'object' ? (schema.additionalProperties as JsonSchema) : undefined;
    for (const field of Object.keys(value).sort()) {
      const schemas: JsonSchema[] = [];
      if (own(properties, field)) schemas.push(properties[field]!);
      for (const [pattern, child] of patterns) if (new RegExp(pattern).test(field)) schemas.push(child);
      if (schemas.length === 0 && additional) schemas.push(additional);
      for (const child of schemas) walk(child, value[field]!, report);
    }
  }
}

function matches(schema: JsonSchema, value: JsonValue): boolean {
  const report: Report = { messages: [] };
  walk(schema, value, report);
  return report.messages.length === 0;
}

/** The validator's messages for `body` against `schema`, in its order; empty when the body is valid. */
export function validateBody(schema: JsonSchema, body: JsonValue): string[] {
  const report: Report = { messages: [] };
  walk(schema, body, report);
  return report.messages;
}

/**
 * API Gateway's `$context.error.validationErrorString`: the messages in
 * brackets, comma separated, with quotes and backslashes escaped so the value
 * can sit inside a JSON string of a gateway response template.
 */
export function validationErrorString(messages: readonly string[]): string {
  return jsonEscape(`[${messages.join(', ')}]`);
}

export function jsonEscape(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
