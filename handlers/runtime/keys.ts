import type { Key } from './store.js';

/** Where the runtime keeps its own items for a family, next to the items its effects update. */
export function runtimeKeys(familyName: string) {
  return {
    /** One shard's alert cursor: how far its alerts are known to be out. */
    cursorKey: (shardId: string): Key => ({ pk: `${familyName}#cursor#${shardId}`, sk: 'alerts' }),
    /** A client idempotency key, owned by the first record that carried it. */
    claimKey: (key: string): Key => ({ pk: `${familyName}#claim#${key}`, sk: 'claim' }),
    /** A record that could not be decoded, kept for inspection. */
    malformedKey: (shardId: string, seq: string): Key => ({ pk: `${familyName}#malformed`, sk: `${shardId}#${seq}` }),
  };
}

export type RuntimeKeys = ReturnType<typeof runtimeKeys>;
