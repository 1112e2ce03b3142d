import type { OutgoingAlert } from './alerts.js';
import { cloneJson, type Item, type Json } from './attributes.js';
import { PoisonRecordError } from './errors.js';
import { itemSize, MAX_ITEM_BYTES } from './item-size.js';
import type { AlertCursors } from './reads.js';
import { toAlert, type Decoded } from './records.js';
import { padSequence } from './sequence.js';
import type { ShardRange } from './shards.js';
import { keyId, type Key } from './store.js';
import type { KeyedEffect } from './effect.js';
import type { State } from './types.js';

/** The runtime's own attributes on every item it writes; effects never see them. */
const SYSTEM = new Set(['pk', 'sk', 'v', 'updated_at', 'hw', 'outbox']);
const isSystem = (name: string) => SYSTEM.has(name);

/**
 * Highest sequence number applied to an item from one shard. Sound because
 * the event source mapping runs with ParallelizationFactor 1 (the module
 * refuses more): Lambda then processes one batch per shard at a time, in
 * sequence-number order, and retries from the first failed record, so every
 * record of the shard at or below the fence has been applied to this item and
 * none above it has. One fence per shard, not per partition key, is what keeps
 * a shared item (a subject every student touches) from growing with its users.
 * `at` is the record's arrival time (epoch seconds), used to prune shards that
 * stopped writing (closed by resharding) once nothing of theirs can come back.
 */
interface Fence {
  seq: string;
  at: number;
}

/** An alert written with its item, sent after the write (the outbox). `seq` is padded. */
interface OutboxEntry {
  shard: string;
  seq: string;
  id: string;
  type: string;
  detail: string;
  at: number;
}

export type Entry = { d: Decoded; effect: KeyedEffect; effectIndex: number };
export interface ItemGroup {
  key: Key;
  entries: Entry[];
}

/** Coalesce: every effect on one item, in record order, becomes one write. Client retries (duplicates) have none. */
export function groupEffectsByItem(decoded: readonly Decoded[]): Map<string, ItemGroup> {
  const groups = new Map<string, ItemGroup>();
  for (const d of decoded) {
    if (d.kind === 'valid' && d.duplicate) continue;
    d.effects.forEach((effect, effectIndex) => {
      const id = keyId(effect);
      const group = groups.get(id) ?? groups.set(id, { key: { pk: effect.pk, sk: effect.sk }, entries: [] }).get(id)!;
      group.entries.push({ d, effect, effectIndex });
    });
  }
  return groups;
}

/** What the batch knows that the outcome of applying effects to one item depends on. */
export interface ApplyContext extends AlertCursors {
  familyName: string;
  shards: ReadonlyMap<string, ShardRange>;
  /** Fences and outbox entries of shards idle since before this (epoch seconds) are dropped. */
  pruneBefore: number;
  now: string;
  /** New alerts this item takes in one pass; the rest of its records wait for the next pass (config.ts). */
  maxAlertsPerItem: number;
}

export interface Applied {
  /** Records applied by this computation (not fenced off): they fail if the write does. */
  fresh: Decoded[];
  raised: OutgoingAlert[];
  owed: OutgoingAlert[];
  /** The item to write, or undefined when nothing in it changes. */
  put: Item | undefined;
  /** Records that can never be applied to this item (the item would outgrow DynamoDB's limit, a value out of range). */
  poison: Map<Decoded, PoisonRecordError>;
  /** The first record left for the next pass because this item's outbox took its share of alerts. */
  deferred?: Decoded;
}

/** Old items fenced per lane (`<shardId>|<partitionKey>`): with one batch per shard, the highest per shard is the shard's fence. */
export function readFences(hw: Json | undefined): Map<string, Fence> {
  const fences = new Map<string, Fence>();
  if (hw === null || typeof hw !== 'object' || Array.isArray(hw)) return fences;
  for (const [name, value] of Object.entries(hw)) {
    const fence = value as unknown as Fence;
    const shard = name.includes('|') ? name.slice(0, name.indexOf('|')) : name;
    const known = fences.get(shard);
    if (!known || padSequence(fence.seq) > padSequence(known.seq)) fences.set(shard, { seq: fence.seq, at: Math.max(fence.at, known?.at ?? 0) });
  }
  return fences;
}

function readOutbox(outbox: Json | undefined): OutboxEntry[] {
  if (!Array.isArray(outbox)) return [];
  return outbox.map((raw) => {
    const e = raw as unknown as OutboxEntry & { lane?: string };
    return e.shard !== undefined ? e : { ...e, shard: String(e.lane).split('|')[0]! };
  });
}

/**
 * Pure: the item after this batch's fresh effects, the alerts they raise, and alerts still owed from the item's outbox.
 * Run again on the fresh copy after a lost write race, so it must not depend on anything but its arguments.
 *
 * A record whose effect throws PoisonRecordError, or that would take the item past DynamoDB's 400 KB, is
 * reported in `poison` and left out (the caller sends it to the malformed sink and recomputes without it).
 */
export function applyEffects(key: Key, entries: readonly Entry[], item: Item | undefined, ctx: ApplyContext): Applied {
  const first = compute(key, entries, item, ctx, false);
  if (first.poison.size === 0) return first;
  // Something was poison: once more, undoing each record that is, so that exactly those are left out.
  return compute(key, entries, item, ctx, true);
}

function compute(key: Key, entries: readonly Entry[], item: Item | undefined, ctx: ApplyContext, careful: boolean): Applied {
  const { shards, cursor, sentBeyond, pruneBefore, now } = ctx;
  let state: State = Object.create(null);
  if (item) for (const [name, value] of Object.entries(item)) if (!isSystem(name)) state[name] = cloneJson(value);
  const fences = readFences(item?.hw);
  // Written with the item on an earlier delivery but maybe never sent: owed if this batch redelivers its record.
  const owed: OutgoingAlert[] = [];
  const kept: OutboxEntry[] = [];
  for (const e of readOutbox(item?.outbox)) {
    const range = shards.get(e.shard);
    if (!range) {
      if (e.at >= pruneBefore) kept.push(e);
      continue;
    }
    // Before the batch's first record of the shard: checkpointed, never redelivered; at or below the cursor: sent.
    if (e.seq < range.min || e.seq <= cursor.get(e.shard)!) continue;
    kept.push(e);
    if (e.seq <= range.max && !sentBeyond.get(e.shard)!.has(e.id)) owed.push({ shardId: e.shard, seq: e.seq, id: e.id, type: e.type, detail: e.detail });
  }
  const fresh: Decoded[] = [];
  const raised: OutgoingAlert[] = [];
  const poison = new Map<Decoded, PoisonRecordError>();
  let deferred: Decoded | undefined;
  const build = (): Item => {
    const put: Item = Object.create(null);
    for (const [name, value] of Object.entries(state)) if (value !== undefined) put[name] = value;
    const hw: Record<string, Json> = Object.create(null);
    for (const [shard, fence] of fences) if (shards.has(shard) || fence.at >= pruneBefore) hw[shard] = { seq: fence.seq, at: fence.at };
    const outbox = [...kept, ...raised.map(({ shardId, seq, id, type, detail, at }) => ({ shard: shardId, seq, id, type, detail, at: at ?? 0 }))];
    return Object.assign(put, {
      pk: key.pk,
      sk: key.sk,
      v: (typeof item?.v === 'number' ? item.v : 0) + 1,
      updated_at: now,
      hw,
      outbox: outbox as unknown as Json,
    });
  };
  /** The item's size, or the reason it cannot be stored. */
  const tooLarge = (): PoisonRecordError | undefined => {
    try {
      const size = itemSize(build());
      return size > MAX_ITEM_BYTES ? new PoisonRecordError('item_too_large', `${key.pk} / ${key.sk} would be ${size} bytes, over DynamoDB's ${MAX_ITEM_BYTES}`) : undefined;
    } catch (error) {
      if (error instanceof PoisonRecordError) return error;
      throw error;
    }
  };

  for (const entry of entries) {
    const { d, effect, effectIndex } = entry;
    const fence = fences.get(d.shardId);
    if (fence !== undefined && d.seq <= padSequence(fence.seq)) continue; // applied on an earlier delivery
    if (raised.length >= ctx.maxAlertsPerItem) {
      deferred = d;
      break;
    }
    const before = careful ? { state: cloneJson(state as Json) as State, raised: raised.length } : undefined;
    let drafts;
    try {
      drafts = effect.apply(state, d.context) ?? [];
    } catch (error) {
      if (!(error instanceof PoisonRecordError)) throw error;
      poison.set(d, error);
      if (!careful) break;
      state = before!.state;
      continue;
    }
    drafts.forEach((draft, n) => {
      const alert = toAlert(ctx.familyName, draft, d, effectIndex, n);
      raised.push({ shardId: d.shardId, seq: d.seq, id: alert.alert_id, type: alert.alert_type, detail: JSON.stringify(alert), at: d.arrival });
    });
    if (careful) {
      const problem = tooLarge();
      if (problem) {
        poison.set(d, problem);
        state = before!.state;
        raised.length = before!.raised;
        continue;
      }
    }
    fences.set(d.shardId, { seq: d.record.kinesis.sequenceNumber, at: d.arrival });
    fresh.push(d);
  }
  if (!careful && poison.size === 0 && fresh.length > 0) {
    const problem = tooLarge();
    // Which record is responsible is found by the careful pass.
    if (problem) poison.set(fresh[fresh.length - 1]!, problem);
  }
  const later = deferred ? { deferred } : {};
  if (fresh.length === 0) return { fresh, raised, owed, put: undefined, poison, ...later };
  return { fresh, raised, owed, put: build(), poison, ...later };
}
