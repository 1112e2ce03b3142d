/**
 * The generator of a family nobody has written one for: it varies the
 * family's example by what the schema allows, so a new family can be sent,
 * benchmarked and soaked the moment it is registered.
 *
 * Each field of the example is redrawn from its JSON Schema node: an enum
 * picks any member, a number moves within its bounds (integers stay
 * integers), a date-time becomes the simulated clock, and each partition-key
 * path draws from a pool of ids made from the example's value (so aggregates
 * fill up over many events, as in real traffic). The idempotency key and the
 * event `timestamp` are always set, present in the example or not. Other
 * strings, constants and the discriminator keep the example's value: the
 * events stay in the example's branch of a union.
 */
import * as z from 'zod/mini';
import type { FamilyDefinition } from '../../handlers/runtime/family.js';
import { BaseGenerator, type Body, type GeneratorOptions } from './generator.js';
import { round } from './prng.js';

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** Ids per partition-key path: enough lanes to spread over shards, few enough that items aggregate. */
const KEY_POOL_SIZE = 1000;
/** The body field the runtime reads event time from (handlers/runtime/envelope.ts). */
const EVENT_TIME_FIELD = 'timestamp';

export class DerivedGenerator extends BaseGenerator {
  private readonly schema: JsonSchema;
  private readonly keyPaths: ReadonlySet<string>;
  private readonly keyPools = new Map<string, readonly string[]>();

  constructor(family: FamilyDefinition, options: GeneratorOptions) {
    super(family, options);
    this.schema = z.toJSONSchema(family.schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    this.keyPaths = new Set(family.partitionKey);
  }

  next(): Body {
    const body = this.vary(this.family.example, this.schema, '') as Body;
    if (this.family.schema.safeParse(body).success) return body;
    // Each value fits its own schema node; a rule across fields (a refine) can still refuse the mix.
    return withPath(structuredClone(this.family.example) as Body, this.family.idempotencyKey, this.eventId());
  }

  private vary(value: unknown, schema: JsonSchema | undefined, path: string): unknown {
    if (schema === undefined) return structuredClone(value);
    const branches = schema.oneOf ?? schema.anyOf;
    if (branches) return this.vary(value, branches.find((b) => sameBranch(value, b)) ?? branches[0], path);
    if (schema.const !== undefined) return value;
    if (schema.enum && schema.enum.length > 0) return this.prng.pick(schema.enum);
    if (typeof value === 'string') {
      if (path === this.family.idempotencyKey) return this.eventId();
      if (this.keyPaths.has(path)) return this.prng.pickSkewed(this.keyPool(path, value, schema));
      return schema.format === 'date-time' ? this.timestamp() : value;
    }
    if (typeof value === 'number') return this.number(value, schema);
    if (typeof value === 'boolean') return this.prng.chance(0.5);
    if (Array.isArray(value)) return value.map((item) => this.vary(item, schema.items, path));
    if (value !== null && typeof value === 'object') {
      const out: Body = {};
      for (const [key, field] of Object.entries(value)) out[key] = this.vary(field, ownProperty(schema, key), join(path, key));
      for (const [key, field] of Object.entries(schema.properties ?? {})) {
        if (Object.hasOwn(out, key)) continue;
        const fieldPath = join(path, key);
        if (fieldPath === this.family.idempotencyKey) out[key] = this.eventId();
        else if (fieldPath === EVENT_TIME_FIELD && field.format === 'date-time') out[key] = this.timestamp();
      }
      return out;
    }
    return value;
  }

  private number(value: number, schema: JsonSchema): number {
    const integer = schema.type === 'integer';
    const step = integer ? 1 : 0.01;
    const low = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + step : Math.min(0, value));
    const high = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - step : Math.max(2 * value, value + 10));
    // Around the example's magnitude (half to one and a half times it), not across the whole allowed range.
    const drawn = value === 0 ? low + this.prng.next() * (Math.min(high, low + 10) - low) : value * (0.5 + this.prng.next());
    const bounded = Math.min(high, Math.max(low, drawn));
    return integer ? Math.min(high, Math.max(low, Math.round(bounded))) : round(bounded, 2);
  }

  private keyPool(path: string, example: string, schema: JsonSchema): readonly string[] {
    let pool = this.keyPools.get(path);
    if (!pool) {
      const fits = (id: string) =>
        (schema.pattern === undefined || new RegExp(schema.pattern).test(id)) && (schema.maxLength === undefined || id.length <= schema.maxLength);
      const separator = ['-', '_', '.', ''].find((s) => fits(`${example}${s}${KEY_POOL_SIZE}`));
      pool = separator === undefined ? [example] : Array.from({ length: KEY_POOL_SIZE }, (_, i) => `${example}${separator}${i + 1}`);
      this.keyPools.set(path, pool);
    }
    return pool;
  }
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

function ownProperty(schema: JsonSchema, key: string): JsonSchema | undefined {
  return schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
}

/** The union branch whose constants (the discriminator) the example's value carries. */
function sameBranch(value: unknown, branch: JsonSchema): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.entries(branch.properties ?? {}).every(
    ([key, field]) => field.const === undefined || (value as Body)[key] === field.const,
  );
}

/** Sets the dotted path in the body (the caller passes a copy) and returns it; a path through a non-object is left alone. */
function withPath(body: Body, path: string, value: unknown): Body {
  const keys = path.split('.');
  let target: Body = body;
  for (const key of keys.slice(0, -1)) {
    const next = target[key];
    if (next === null || typeof next !== 'object') return body;
    target = next as Body;
  }
  target[keys[keys.length - 1]!] = value;
  return body;
}
