/**
 * Request validation as API Gateway does it: the family's JSON Schema
 * (draft-4) models from modules/models.ts, and a `validationErrorString` in
 * the wording of the validator API Gateway runs (java json-schema-validator),
 * e.g. `[object has missing required properties (["action"])]`.
 */
import AjvModule from 'ajv-draft-04';
import type { ErrorObject, ValidateFunction } from 'ajv-draft-04';
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import { batchModel, compatBatchModel, eventModel } from '../modules/models.js';

// ajv-draft-04 is CommonJS with a default export; under NodeNext the class sits on `.default`.
const Ajv = AjvModule.default;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export interface FamilyValidators {
  readonly single: ValidateFunction;
  readonly batch: ValidateFunction;
  /** `POST /events/batch/<family>`, the compatibility route. */
  readonly compatBatch: ValidateFunction;
}

export function compileValidators(family: FamilyDefinition): FamilyValidators {
  // allErrors: API Gateway reports every violation, not just the first.
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The draft-4 `date-time` format (RFC 3339), which API Gateway's validator checks too.
  ajv.addFormat('date-time', (value: string) => RFC3339.test(value) && !Number.isNaN(Date.parse(value)));
  return { single: ajv.compile(eventModel(family)), batch: ajv.compile(batchModel(family)), compatBatch: ajv.compile(compatBatchModel(family)) };
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function at(data: unknown, pointer: string): unknown {
  let node = data;
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}

function message(error: ErrorObject, data: unknown): string {
  const value = at(data, error.instancePath);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `object has missing required properties (["${String(p.missingProperty)}"])`;
    case 'type': {
      const allowed = String(p.type).split(',');
      return `instance type (${typeOf(value)}) does not match any allowed primitive type (allowed: [${allowed.map((t) => `"${t}"`).join(',')}])`;
    }
    case 'additionalProperties':
      return `object instance has properties which are not allowed by the schema: ["${String(p.additionalProperty)}"]`;
    case 'pattern':
      return `ECMA 262 regex "${String(p.pattern)}" does not match input string ${JSON.stringify(value)}`;
    case 'enum':
      return `instance value (${JSON.stringify(value)}) not found in enum (possible values: ${JSON.stringify(p.allowedValues)})`;
    case 'minLength':
      return `string ${JSON.stringify(value)} is too short (length: ${String(value).length}, required minimum: ${String(p.limit)})`;
    case 'maxLength':
      return `string ${JSON.stringify(value)} is too long (length: ${String(value).length}, maximum allowed: ${String(p.limit)})`;
    case 'minimum':
      return `numeric instance is lower than the required minimum (minimum: ${String(p.limit)}, found: ${String(value)})`;
    case 'maximum':
      return `numeric instance is greater than the required maximum (maximum: ${String(p.limit)}, found: ${String(value)})`;
    case 'minItems':
      return `array is too short: must have at least ${String(p.limit)} elements but instance has ${(value as unknown[]).length} elements`;
    case 'maxItems':
      return `array is too long: must have at most ${String(p.limit)} elements but instance has ${(value as unknown[]).length} elements`;
    case 'anyOf':
      return 'instance failed to match at least one required schema among the alternatives';
    case 'oneOf':
      return 'instance failed to match exactly one schema';
    case 'format':
      return `string ${JSON.stringify(value)} is invalid against requested format "${String(p.format)}"`;
    default:
      return error.message ?? error.keyword;
  }
}

/**
 * API Gateway's `$context.error.validationErrorString`: the messages in
 * brackets, comma separated, with quotes and backslashes escaped so the value
 * can sit inside a JSON string of a gateway response template.
 */
export function validationErrorString(errors: readonly ErrorObject[] | null | undefined, data: unknown): string {
  const messages = [...new Set((errors ?? []).map((e) => message(e, data)))];
  return jsonEscape(`[${messages.join(', ')}]`);
}

export function jsonEscape(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
