/**
 * Size bounds on the free-form parts of a request model. API Gateway accepts
 * up to 10 MB per request and Kinesis 1 MiB per record; without bounds a
 * client could send about 1 MiB of arbitrary data per event, and the archive
 * keeps it for a year. Applied once, to the model generated from a family's
 * schema, so the edge refuses what no processor reads:
 * - objects with declared properties accept no others;
 * - an open map (`z.record(...)`, e.g. `metadata`) holds at most
 *   MAX_MAP_ENTRIES scalar values, strings of at most MAX_FREE_TEXT characters;
 * - a string with no pattern, enum or length gets MAX_FREE_TEXT.
 */
/** A JSON Schema (draft 4, as API Gateway's models take it), as plain data. */
export type JsonSchema = Record<string, unknown>;

export const MAX_MAP_ENTRIES = 32;
export const MAX_FREE_TEXT = 1024;

const BOUNDED_MAP_VALUE: JsonSchema = { type: ['string', 'number', 'boolean', 'null'], maxLength: MAX_FREE_TEXT };

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function boundFreeForm(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...schema };
  if (isSchema(out.properties)) {
    out.properties = Object.fromEntries(Object.entries(out.properties).map(([k, v]) => [k, isSchema(v) ? boundFreeForm(v) : v]));
    if (out.additionalProperties === undefined) out.additionalProperties = false;
  } else if (out.type === 'object' && (out.additionalProperties === undefined || out.additionalProperties === true || isSchema(out.additionalProperties))) {
    const value = isSchema(out.additionalProperties) ? out.additionalProperties : {};
    out.additionalProperties = Object.keys(value).length === 0 ? BOUNDED_MAP_VALUE : boundFreeForm(value);
    out.maxProperties = Math.min(Number(out.maxProperties ?? MAX_MAP_ENTRIES), MAX_MAP_ENTRIES);
  }
  if (isSchema(out.items)) out.items = boundFreeForm(out.items);
  for (const key of ['oneOf', 'anyOf', 'allOf'] as const) {
    if (Array.isArray(out[key])) out[key] = (out[key] as unknown[]).map((s) => (isSchema(s) ? boundFreeForm(s) : s));
  }
  if (out.type === 'string' && out.maxLength === undefined && out.pattern === undefined && out.enum === undefined) out.maxLength = MAX_FREE_TEXT;
  return out;
}
