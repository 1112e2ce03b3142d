/**
 * How a processor names the item an event changes, and what it does to it.
 * The processor gives an entity, an id and a sort key; the runtime builds the
 * table key inside the family's own prefix (`<family>#<entity>#<id>`), so no
 * processor can write another family's items, or the runtime's own, by a
 * mistyped string. On AWS the processor's role could not either (the table
 * grant's leading-key condition, modules/table-access.ts); local mode enforces
 * the same grant (local/table-access.ts).
 */
import type { Key } from './store.js';
import type { AlertDraft, RecordContext, State } from './types.js';

/** Where an effect's item lives within its family. */
export interface ItemKey {
  /** The kind of thing the item is about (`order`, `student`): lower-case letters, digits and `_`. */
  readonly entity: string;
  /** Which one: user data, taken as it is (DynamoDB's key limits are checked per record). */
  readonly id: string;
  /** The item's sort key, for several items about one thing (`profile`, `day#2026-12-02`). */
  readonly sort: string;
}

/** Changes one item's state in place and returns the alerts it raises, if any. */
export type Apply<S extends object> = (state: Partial<S>, context: RecordContext) => AlertDraft[] | void;

/**
 * One effect of one event on one item. `apply` must be deterministic (no
 * clock, no randomness): after a write conflict it runs again on the fresher
 * item. It throws PoisonRecordError for an event it can never apply.
 */
export interface Effect {
  readonly item: ItemKey;
  readonly apply: Apply<State>;
}

/** An effect with its table key, as the runtime reads, applies and writes it. */
export interface KeyedEffect extends Key {
  readonly apply: Apply<State>;
}

/** Entities the runtime keeps its own items under (runtime/keys.ts): a processor never names them. */
export const RESERVED_ENTITIES: ReadonlySet<string> = new Set(['claim', 'cursor', 'malformed']);
const ENTITY = /^[a-z][a-z0-9_]{0,63}$/;

/** An effect whose item key no processor may use: a bug in the processor, so the invocation fails. */
export class ItemKeyError extends Error {
  override name = 'ItemKeyError';
}

/**
 * The effect of an event on the item `item`, its state typed as `S`.
 *
 * ```ts
 * effect<OrderState>({ entity: 'order', id: event.order_id, sort: 'order' }, (order) => {
 *   order.status = 'paid';
 * });
 * ```
 */
export function effect<S extends object>(item: ItemKey, apply: Apply<S>): Effect {
  // The one place state is given its type: the item's attributes as stored, which only this effect's own code wrote.
  return { item, apply: apply as Apply<State> };
}

/** The table key of an effect's item, inside the family's prefix. */
export function keyed(familyName: string, { item, apply }: Effect): KeyedEffect {
  if (!ENTITY.test(item.entity) || RESERVED_ENTITIES.has(item.entity)) {
    throw new ItemKeyError(`entity "${item.entity}" is not one a processor may use (lower-case letters, digits, _; not ${[...RESERVED_ENTITIES].join(', ')})`);
  }
  return { pk: `${familyName}#${item.entity}#${item.id}`, sk: item.sort, apply };
}
