/**
 * Maps keyed by user data (action names, payment ids). A plain object literal
 * inherits from Object.prototype, so `counts["constructor"]` is a function and
 * `counts["__proto__"] = 1` changes the prototype; these helpers only ever see
 * own properties, and `dict()` has no prototype at all. Maps read from the
 * table have none either (attributes.ts).
 */
export type Dict<V> = Record<string, V>;

export const dict = <V>(): Dict<V> => Object.create(null) as Dict<V>;

export function own<V>(map: Dict<V> | undefined, key: string): V | undefined {
  return map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
}

export function setOwn<V>(map: Dict<V>, key: string, value: V): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Adds `amount` to `map[key]` unless that would make the map hold more than
 * `limit` distinct keys; returns whether it did, so the caller can count the
 * rest in an overflow total instead (the item then never grows with user data).
 */
export function tally(map: Dict<number>, key: string, amount: number, limit = Infinity): boolean {
  const current = own(map, key);
  if (current === undefined && Object.keys(map).length >= limit) return false;
  setOwn(map, key, (current ?? 0) + amount);
  return true;
}
