import { z } from 'zod/mini';
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import { boundFreeForm } from './model-bounds.js';

/** PutRecords accepts at most 500 records per call. */
export const MAX_BATCH_RECORDS = 500;

export type JsonSchema = Record<string, unknown>;

/**
 * The API Gateway request model (JSON Schema draft-4) of one event, generated
 * from the family's zod schema: the edge and the processor validate against the
 * same definition.
 */
export function eventModel(family: FamilyDefinition): JsonSchema {
  return boundFreeForm(z.toJSONSchema(family.schema, { target: 'draft-4', io: 'input' }) as JsonSchema);
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
