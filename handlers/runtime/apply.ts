import type { OutgoingAlert } from './alerts.js';
import type { Item, Json } from './attributes.js';
import type { LaneRange } from './lanes.js';
import type { AlertCursors } from './reads.js';
import { toAlert, type Decoded } from './records.js';
import { padSequence } from './sequence.js';
import { keyId, type Key } from './store.js';
import type { Effect, State } from './types.js';

/** The runtime's own attributes on every item it writes; reducers never see them. */
const SYSTEM = new Set(['pk', 'sk', 'v', 'updated_at', 'hw', 'outbox']);
const isSystem = (name: string) => SYSTEM.has(name);

/**
 * Highest sequence number applied to an item from one lane. A lane is a
 * shard and partition key: Lambda keeps records of one partition key in
 * order even with a ParallelizationFactor above 1, when one shard's partition
 * keys are processed by concurrent invocations; a per-shard fence would then
 * skip another invocation's lower sequence numbers. `at` is the record's
 * arrival time (epoch seconds), used to prune idle lanes.
 */
interface Fence {
  seq: string;
  at: number;
}

/** An alert written with its item, sent after the write (the outbox). `seq` is padded. */
interface OutboxEntry {
  lane: string;
  seq: string;
  id: string;
  type: string;
  detail: string;
  at: number;
}

export type Entry = { d: Decoded; effect: Effect; effectIndex: number };
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
  lanes: ReadonlyMap<string, LaneRange>;
  /** Fences and outbox entries of lanes idle since before this (epoch seconds) are dropped. */
  pruneBefore: number;
  now: string;
}

export interface Applied {
  /** Records applied by this computation (not fenced off): they fail if the write does. */
  fresh: Decoded[];
  raised: OutgoingAlert[];
  owed: OutgoingAlert[];
  /** The item to write, or undefined when nothing in it changes. */
  put: Item | undefined;
}

/**
 * Pure: the item after this batch's fresh effects, the alerts they raise, and alerts still owed from the item's outbox.
 * Run again on the fresh copy after a lost write race, so it must not depend on anything but its arguments.
 */
export function applyEffects(key: Key, entries: readonly Entry[], item: Item | undefined, ctx: ApplyContext): Applied {
  const { lanes, cursor, sentBeyond, pruneBefore, now } = ctx;
  const state: State = {};
  if (item) for (const [name, value] of Object.entries(item)) if (!isSystem(name)) state[name] = structuredClone(value);
  const fences = new Map(Object.entries((item?.hw as Record<string, Fence> | undefined) ?? {}));
  const outbox = (item?.outbox as OutboxEntry[] | undefined) ?? [];
  // Written with the item on an earlier delivery but maybe never sent: owed if this batch redelivers its record.
  const owed: OutgoingAlert[] = [];
  const kept: OutboxEntry[] = [];
  for (const e of outbox) {
    const lane = lanes.get(e.lane);
    if (!lane) {
      if (e.at >= pruneBefore) kept.push(e);
      continue;
    }
    if (e.seq < lane.min || e.seq <= cursor.get(e.lane)!) continue;
    kept.push(e);
    if (e.seq <= lane.max && !sentBeyond.get(e.lane)!.has(e.id)) owed.push({ shardId: lane.shardId, lane: e.lane, seq: e.seq, id: e.id, type: e.type, detail: e.detail });
  }
  const fresh: Decoded[] = [];
  const raised: OutgoingAlert[] = [];
  for (const { d, effect, effectIndex } of entries) {
    const fence = fences.get(d.lane);
    if (fence !== undefined && d.seq <= padSequence(fence.seq)) continue; // applied on an earlier delivery
    const drafts = effect.apply(state, d.context) ?? [];
    drafts.forEach((draft, n) => {
      const alert = toAlert(ctx.familyName, draft, d, effectIndex, n);
      raised.push({ shardId: d.shardId, lane: d.lane, seq: d.seq, id: alert.alert_id, type: alert.alert_type, detail: JSON.stringify(alert), at: d.arrival });
    });
    fences.set(d.lane, { seq: d.record.kinesis.sequenceNumber, at: d.arrival });
    fresh.push(d);
  }
  if (fresh.length === 0) return { fresh, raised, owed, put: undefined };
  const put: Item = {};
  for (const [name, value] of Object.entries(state)) if (value !== undefined) put[name] = value;
  const hw: Record<string, Fence> = {};
  for (const [lane, fence] of fences) if (lanes.has(lane) || fence.at >= pruneBefore) hw[lane] = fence;
  const newEntries = raised.map(({ lane, seq, id, type, detail, at }) => ({ lane, seq, id, type, detail, at: at ?? 0 }));
  Object.assign(put, {
    pk: key.pk,
    sk: key.sk,
    v: (typeof item?.v === 'number' ? item.v : 0) + 1,
    updated_at: now,
    hw: hw as unknown as Json,
    outbox: [...kept, ...newEntries] as unknown as Json,
  });
  return { fresh, raised, owed, put };
}
