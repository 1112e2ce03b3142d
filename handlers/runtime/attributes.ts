import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * Plain JSON <-> DynamoDB attribute values. The processors store JSON-shaped
 * state only, so this small codec replaces `@aws-sdk/util-dynamodb` (which is
 * not a dependency here and would add to every bundle).
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Item = Record<string, Json>;

export function toAttribute(value: Json): AttributeValue {
  if (value === null) return { NULL: true };
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot store non-finite number ${value}`);
    return { N: String(value) };
  }
  if (typeof value === 'boolean') return { BOOL: value };
  if (Array.isArray(value)) return { L: value.map(toAttribute) };
  return { M: toAttributeMap(value) };
}

export function toAttributeMap(item: Record<string, Json | undefined>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [key, value] of Object.entries(item)) if (value !== undefined) out[key] = toAttribute(value);
  return out;
}

export function fromAttribute(value: AttributeValue): Json {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.L !== undefined) return value.L.map(fromAttribute);
  if (value.M !== undefined) return fromAttributeMap(value.M);
  if (value.SS !== undefined) return value.SS;
  if (value.NS !== undefined) return value.NS.map(Number);
  throw new TypeError(`unsupported attribute value ${JSON.stringify(value)}`);
}

/**
 * Maps come back without a prototype, so keys taken from user data
 * (`constructor`, `toString`, `__proto__`) are plain own keys and nothing is inherited.
 */
export function fromAttributeMap(map: Record<string, AttributeValue>): Item {
  const out: Item = Object.create(null);
  for (const [key, value] of Object.entries(map)) out[key] = fromAttribute(value);
  return out;
}

/** A deep copy of JSON state whose maps have no prototype (structuredClone would give them Object.prototype back). */
export function cloneJson<T extends Json | undefined>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => cloneJson(v)) as T;
  const out: Record<string, Json> = Object.create(null);
  for (const [key, v] of Object.entries(value)) out[key] = cloneJson(v);
  return out as T;
}
