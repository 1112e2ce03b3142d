import type { z } from 'zod/mini';

/**
 * The one definition of an event family. Everything about a family (its API
 * route, edge validation model, VTL templates, stream and function names,
 * processor validation, TypeScript types and local mode) is derived from it.
 *
 * Schemas are written with `zod/mini` because the same object is bundled into
 * the processor: the full `zod` build adds ~430 KiB to every cold start.
 */
export interface FamilyDefinition<Schema extends z.ZodMiniType = z.ZodMiniType> {
  /** Route segment, resource-name suffix, DynamoDB key prefix, EventBridge source suffix. snake_case. */
  readonly name: string;
  /** One line for humans: README, API documentation, local banner. */
  readonly description: string;
  /** zod schema of one event body (a discriminated union where a family has several kinds). */
  readonly schema: Schema;
  /**
   * Dotted body paths tried in order for the Kinesis partition key; the first one
   * present wins, the API request id is the fallback. Records of one key stay
   * in order on one shard, so choose the entity whose aggregates the processor updates.
   */
  readonly partitionKey: readonly string[];
  /** Dotted body path of the optional client idempotency key (safe client retries). */
  readonly idempotencyKey: string;
  /** A valid example body: README, banner curl line, smoke tests. */
  readonly example: z.input<Schema>;
}

export type FamilyEvent<F extends FamilyDefinition> = z.output<F['schema']>;

export function defineFamily<Schema extends z.ZodMiniType>(definition: FamilyDefinition<Schema>): FamilyDefinition<Schema> {
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(definition.name)) {
    throw new Error(`family name "${definition.name}" must be snake_case, at most 31 characters`);
  }
  return Object.freeze(definition);
}
