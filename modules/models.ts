import { z } from 'zod/mini';
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import { boundFreeForm, type JsonSchema } from './model-bounds.js';

/** PutRecords accepts at most 500 records per call. */
export const MAX_BATCH_RECORDS = 500;

export type { JsonSchema } from './model-bounds.js';

/**
 * The API Gateway request model (JSON Schema draft-4) of one event, generated
 * from the family's zod schema: the edge and the processor validate against the
 * same definition.
 */
export function eventModel(family: FamilyDefinition): JsonSchema {
  return guardEchoes(shapeForGatewayValidator(boundFreeForm(z.toJSONSchema(family.schema, { target: 'draft-4', io: 'input' }) as JsonSchema)));
}

/**
 * The longest string API Gateway's validator may quote back. Its pattern,
 * enum, format and length messages quote the rejected value whole.
 */
export const MAX_ECHOED_STRING = 1024;

/** The length above which a string schema's own checks would quote it: its maxLength, or the echo bound where it has echoing checks. */
function echoBound(schema: JsonSchema): number | undefined {
  if (typeof schema.maxLength === 'number') return schema.maxLength;
  if (Array.isArray(schema.enum)) return Math.max(...(schema.enum as unknown[]).map((v) => (typeof v === 'string' ? v.length : 0)), 1);
  if (schema.pattern !== undefined || schema.format !== undefined) return MAX_ECHOED_STRING;
  return undefined;
}

/**
 * Adds to every object a length guard for its string properties, in an
 * `allOf` (which the validator checks before the properties and reports as
 * one line that quotes nothing): a string too long for its field is refused
 * without being echoed, because the validator looks no deeper once a node has
 * failed. Anchored patterns (all of ours) refuse such strings anyway, so what
 * is valid does not change.
 */
function guardEchoes(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...schema };
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties) {
    out.properties = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, guardEchoes(v)]));
    const guard = Object.fromEntries(
      Object.entries(properties).flatMap(([name, p]) => {
        const bound = echoBound(p);
        return bound === undefined ? [] : [[name, { maxLength: bound }]];
      }),
    );
    if (Object.keys(guard).length > 0) out.allOf = [...((schema.allOf as JsonSchema[] | undefined) ?? []), { properties: guard }];
  }
  if (schema.items && typeof schema.items === 'object' && !Array.isArray(schema.items)) out.items = guardEchoes(schema.items as JsonSchema);
  for (const keyword of ['oneOf', 'anyOf'] as const) {
    if (Array.isArray(schema[keyword])) out[keyword] = (schema[keyword] as JsonSchema[]).map(guardEchoes);
  }
  if (schema.dependencies && typeof schema.dependencies === 'object') {
    out.dependencies = Object.fromEntries(
      Object.entries(schema.dependencies as Record<string, unknown>).map(([k, v]) => [k, Array.isArray(v) ? v : guardEchoes(v as JsonSchema)]),
    );
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    const values = schema.additionalProperties as JsonSchema;
    out.additionalProperties = guardEchoes(values);
    // An open map (no declared properties, e.g. `metadata`): its values get the same guard, since every key is additional.
    const bound = properties ? undefined : echoBound(values);
    if (bound !== undefined) out.allOf = [...((out.allOf as JsonSchema[] | undefined) ?? []), { additionalProperties: { maxLength: bound } }];
  }
  return out;
}

/** The field every variant of a `oneOf` fixes to one value (zod's discriminated union), with the values in variant order. */
export function discriminatorOf(schema: JsonSchema): { field: string; values: string[] } | undefined {
  const variants = schema.oneOf as JsonSchema[] | undefined;
  if (!Array.isArray(variants) || variants.length === 0) return undefined;
  const fixed = (variant: JsonSchema) =>
    Object.entries((variant.properties ?? {}) as Record<string, JsonSchema>).filter(([, p]) => Array.isArray(p.enum) && (p.enum as unknown[]).length === 1);
  for (const [field] of fixed(variants[0]!)) {
    const values = variants.map((v) => ((v.properties as Record<string, JsonSchema> | undefined)?.[field]?.enum as unknown[] | undefined)?.[0]);
    if (values.every((v): v is string => typeof v === 'string') && new Set(values).size === values.length) return { field, values };
  }
  return undefined;
}

/**
 * Reshapes a discriminated union for API Gateway's validator, whose messages
 * for `oneOf` are one summary line (`matched 0 out of 4`) and which looks at
 * nothing deeper once a node has failed. So that a client learns what to fix:
 * - a missing discriminator: `required` at the root names it (with the fields
 *   every variant requires), and no `oneOf` line comes first;
 * - a present one: a schema dependency on it checks its value first, whose
 *   enum message lists the allowed values, and only then the variants' `oneOf`.
 * The validator's texts carry no field names; the README names each family's discriminator.
 */
function shapeForGatewayValidator(schema: JsonSchema): JsonSchema {
  const discriminator = discriminatorOf(schema);
  if (!discriminator) return schema;
  const { $schema, oneOf, ...rest } = schema;
  const variants = oneOf as JsonSchema[];
  const requiredByAll = ((variants[0]!.required ?? []) as string[]).filter((name) => variants.every((v) => ((v.required ?? []) as string[]).includes(name)));
  const { field, values } = discriminator;
  return {
    ...($schema === undefined ? {} : { $schema }),
    ...rest,
    type: 'object',
    required: [...new Set([field, ...requiredByAll])],
    dependencies: {
      [field]: {
        dependencies: { [field]: { properties: { [field]: { enum: [...values].sort() } } } },
        oneOf: variants,
      },
    },
  };
}

/** Request model of the batch route: `{"records": [event, ...]}` with 1..500 events. */
export function batchModel(family: FamilyDefinition): JsonSchema {
  const { $schema, ...event } = eventModel(family);
  return {
    $schema,
    title: `${family.name} batch`,
    type: 'object',
    properties: {
      records: { type: 'array', minItems: 1, maxItems: MAX_BATCH_RECORDS, items: event },
    },
    required: ['records'],
    additionalProperties: false,
  };
}

/** Kinesis bounds a partition key to 1..256 characters (PutRecords API reference, PutRecordsRequestEntry). */
export const MAX_PARTITION_KEY_LENGTH = 256;

/**
 * Request model of the compatibility route `POST /events/batch/<family>`:
 * `{"records":[{"data":"<event as JSON text>","partitionKey":"..."}]}`. Only
 * the shape is checked here; the processor validates what `data` holds.
 */
export function compatBatchModel(family: FamilyDefinition): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-04/schema#',
    title: `${family.name} compatibility batch`,
    type: 'object',
    properties: {
      records: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_BATCH_RECORDS,
        items: {
          type: 'object',
          properties: {
            data: { type: 'string', minLength: 1 },
            partitionKey: { type: 'string', minLength: 1, maxLength: MAX_PARTITION_KEY_LENGTH },
          },
          required: ['data', 'partitionKey'],
          additionalProperties: false,
        },
      },
    },
    required: ['records'],
    additionalProperties: false,
  };
}

/** API Gateway model names are alphanumeric. */
export function modelName(family: FamilyDefinition, kind: 'Event' | 'Batch' | 'CompatBatch'): string {
  const pascal = family.name
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  return `${pascal}${kind}`;
}
