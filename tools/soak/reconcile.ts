/**
 * Reconciliation of a soak run: every accepted event is in exactly one of
 * processed, the malformed sink (the processor's malformed item for its
 * record) or a failure object holding it (its payload, or for a pointer-only
 * object its sequence range); the table matches an independent
 * recomputation; every expected alert arrived once.
 *
 * Processed means its effects are visible, not only its claim: the event's
 * idempotency claim names its own shard and sequence number AND every item
 * the recomputation says it touches matches the recomputation (per-event
 * evidence where an item keeps it: an order milestone's time, a payment
 * status's time). A claim whose effects are missing counts the event as lost.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { payloadRecords, type FailureObject } from '../../local/failure-store.js';
import type { LogEntry } from '../generators/sender.js';
import { eventId, expectation, PRESENT, Subset, type AcceptedEvent } from './expected.js';

/** A failure object of the on-failure destination (local/failure-store.ts). */
export interface DlqRecord {
  KinesisBatchInfo: Pick<FailureObject['KinesisBatchInfo'], 'shardId' | 'startSequenceNumber' | 'endSequenceNumber' | 'batchSize' | 'streamArn'>;
  payload?: FailureObject['payload'];
}

export interface SunkAlert {
  source: string;
  detailType: string;
  detail: { alert_id?: string; alert_type?: string; entity_id?: string; family?: string } | unknown;
}

export interface ReconcileInput {
  entries: readonly LogEntry[];
  items: readonly Record<string, AttributeValue>[];
  alerts: readonly SunkAlert[];
  dlq: readonly DlqRecord[];
  /** family → stream name. */
  streams: ReadonlyMap<string, string>;
}

export interface Check {
  check: string;
  value: number | string;
  ok: boolean;
  detail?: string;
}

export interface Reconciliation {
  checks: Check[];
  ok: boolean;
  /** Short examples of each failure, for humans. */
  examples: string[];
  summary: {
    sent: number;
    accepted: number;
    processed: number;
    /** Claimed at their own sequence number, but an item they touch does not show their effects. */
    claimedWithoutEffects: number;
    malformed: number;
    dlq: number;
    lost: number;
    double: number;
    itemsWrong: number;
    missingAlerts: number;
    duplicateAlerts: number;
    extraAlerts: number;
  };
}

const pad = (seq: string) => seq.padStart(128, '0');

/** A minimal unmarshaller (kept here so the check does not reuse processor code). */
export function plain(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL) return null;
  if (value.L) return value.L.map(plain);
  if (value.M) return Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, plain(v)]));
  if (value.SS) return value.SS;
  if (value.NS) return value.NS.map(Number);
  return undefined;
}

function same(expected: unknown, actual: unknown): boolean {
  if (expected === PRESENT) return actual !== undefined && actual !== null;
  if (expected instanceof Subset) {
    if (!actual || typeof actual !== 'object') return false;
    return Object.entries(expected.fields).every(([k, v]) => same(v, Object.hasOwn(actual, k) ? (actual as Record<string, unknown>)[k] : undefined));
  }
  if (typeof expected === 'number') {
    const a = actual === undefined && expected === 0 ? 0 : actual;
    return typeof a === 'number' && Math.abs(a - expected) < 0.0051;
  }
  if (expected === undefined) return actual === undefined || actual === 0;
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object') return false;
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    const at = (o: object, k: string) => (Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined);
    return [...keys].every((k) => same(at(expected, k), at(actual, k)));
  }
  return expected === actual;
}

export function reconcile(input: ReconcileInput): Reconciliation {
  const examples: string[] = [];
  const example = (text: string) => examples.length < 30 && examples.push(text);
  const table = new Map<string, Record<string, unknown>>();
  for (const raw of input.items) {
    const item = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, plain(v)])) as Record<string, unknown>;
    table.set(`${item.pk}\u0000${item.sk}`, item);
  }
  const get = (pk: string, sk: string) => table.get(`${pk}\u0000${sk}`);
  // The malformed sink's sort key carries the sequence number, padded or not depending on the processor version.
  const malformedItem = (family: string, shardId: string, seq: string) =>
    get(`${family}#malformed`, `${shardId}#${pad(seq)}`) ?? get(`${family}#malformed`, `${shardId}#${seq}`);

  const streamToFamily = new Map([...input.streams].map(([f, s]) => [s, f]));
  const dlqByShard = new Map<string, { start: string; end: string }[]>();
  const dlqHeld = new Set<string>();
  let dlqRecords = 0;
  for (const r of input.dlq) {
    const info = r.KinesisBatchInfo;
    const family = streamToFamily.get(info.streamArn.split('/').pop() ?? '') ?? '?';
    const key = `${family}/${info.shardId}`;
    const held = payloadRecords(r);
    if (held) {
      // The object holds exactly these records (a redrive may have settled some of its range).
      for (const rec of held) dlqHeld.add(`${key}/${pad(rec.kinesis.sequenceNumber)}`);
      dlqRecords += held.length;
    } else {
      (dlqByShard.get(key) ?? dlqByShard.set(key, []).get(key)!).push({ start: pad(info.startSequenceNumber), end: pad(info.endSequenceNumber) });
      dlqRecords += info.batchSize;
    }
  }
  const inDlq = (family: string, shardId: string, seq: string) =>
    dlqHeld.has(`${family}/${shardId}/${seq}`) || (dlqByShard.get(`${family}/${shardId}`) ?? []).some((b) => b.start <= seq && seq <= b.end);

  const accepted = input.entries.filter((e) => e.accepted);
  const refusedValid = input.entries.filter((e) => !e.accepted && !e.malformed);
  const refusedMalformed = input.entries.filter((e) => !e.accepted && e.malformed);
  let processed = 0;
  let malformedSunk = 0;
  let dlqd = 0;
  let lost = 0;
  let multiple = 0;
  let duplicateKeys = 0;
  const applied: AcceptedEvent[] = [];
  const keysSeen = new Set<string>();
  /** Events counted as processed on their claim alone, until their effects are seen. */
  const claimedOnly = new Map<string, LogEntry>();

  for (const e of accepted) {
    const seq = pad(e.sequenceNumber!);
    const shardId = e.shardId!;
    const dlqHit = inDlq(e.family, shardId, seq);
    let claimHit = false;
    let malformedHit = Boolean(malformedItem(e.family, shardId, e.sequenceNumber!));
    if (!e.malformed && e.key) {
      const claim = get(`${e.family}#claim#${e.key}`, 'claim');
      claimHit = Boolean(claim && (claim.seq === seq || claim.seq === e.sequenceNumber) && claim.shard === shardId);
      if (claim && !claimHit) {
        // A client retry of a key another record claimed first: applied once, under the other record.
        duplicateKeys++;
        continue;
      }
    }
    const places = Number(claimHit) + Number(malformedHit) + Number(dlqHit);
    if (places === 0) {
      lost++;
      example(`lost: ${e.family} ${e.malformed ? `malformed(${e.malformed})` : e.key} at ${shardId}/${e.sequenceNumber}`);
    } else if (places > 1) {
      multiple++;
      example(`in ${places} places: ${e.family} ${e.key ?? e.malformed} at ${shardId}/${e.sequenceNumber} (claim ${claimHit}, malformed ${malformedHit}, dlq ${dlqHit})`);
    }
    if (claimHit) processed++;
    if (malformedHit) malformedSunk++;
    if (dlqHit) dlqd++;
    if (e.malformed && claimHit) example(`malformed event claimed as processed: ${e.family} ${shardId}/${e.sequenceNumber}`);
    if (!e.malformed && malformedHit) {
      malformedHit = false;
      example(`valid event in the malformed sink: ${e.family} ${e.key}`);
    }
    if (claimHit && !dlqHit && e.body && !keysSeen.has(`${e.family}/${e.key}`)) {
      claimedOnly.set(eventId({ family: e.family, key: e.key! }), e);
      keysSeen.add(`${e.family}/${e.key}`);
      const stamp = typeof e.body.timestamp === 'string' ? Date.parse(e.body.timestamp) : e.at;
      applied.push({ family: e.family, key: e.key!, shardId, seq, body: e.body, time: stamp });
    }
  }

  // Aggregates: the table against the recomputation over exactly-once-applied events.
  const expected = expectation(applied);
  let itemsChecked = 0;
  let itemsWrong = 0;
  let fieldsChecked = 0;
  const effectsMissing = new Set<string>();
  for (const want of expected.items) {
    itemsChecked++;
    const got = get(want.pk, want.sk);
    const wrong = Object.entries(want.fields).filter(([field, value]) => {
      fieldsChecked++;
      return !got || !same(value, got[field]);
    });
    if (wrong.length > 0) {
      itemsWrong++;
      // A counter above the recomputation is an excess (applied twice), not a missing effect.
      const short = wrong.some(([f, v]) => !(typeof v === 'number' && typeof got?.[f] === 'number' && (got[f] as number) > v));
      if (short) for (const id of want.events) effectsMissing.add(id);
      example(`${want.pk} ${want.sk}: ${wrong.map(([f, v]) => `${f} expected ${describe(v)} got ${JSON.stringify(got?.[f])}`).join(', ')}`);
    }
  }
  // A claim is not proof: an event whose items do not show its effects is not processed, so it is lost.
  let claimedWithoutEffects = 0;
  for (const id of effectsMissing) {
    const e = claimedOnly.get(id);
    if (!e) continue;
    claimedWithoutEffects++;
    processed--;
    lost++;
    example(`claimed but its effects are not visible: ${e.family} ${e.key} at ${e.shardId}/${e.sequenceNumber}`);
  }
  const expectedKeys = new Set(expected.items.map((i) => `${i.pk}\u0000${i.sk}`));
  const aggregatePattern = /^(user_activity#user#|orders#order#|payments#order#|tutoring#(student|tutor|subject)#)/;
  let unexpectedItems = 0;
  for (const [id, item] of table) {
    if (aggregatePattern.test(String(item.pk)) && !expectedKeys.has(id)) {
      unexpectedItems++;
      example(`unexpected item ${item.pk} ${item.sk}`);
    }
  }

  // Alerts: by alert_id for duplicates, by (family, type, entity) for missing and extra.
  const ids = new Map<string, number>();
  const actual = new Map<string, number>();
  for (const a of input.alerts) {
    const d = (a.detail ?? {}) as { alert_id?: string; alert_type?: string; entity_id?: string; family?: string };
    const id = d.alert_id ?? `${a.source}/${a.detailType}/${JSON.stringify(d)}`;
    ids.set(id, (ids.get(id) ?? 0) + 1);
    if ((ids.get(id) ?? 0) > 1) continue;
    const family = d.family ?? a.source.replace(/^event-flow\./, '');
    const key = `${family}|${d.alert_type ?? a.detailType}|${d.entity_id}`;
    actual.set(key, (actual.get(key) ?? 0) + 1);
  }
  const duplicateAlerts = [...ids.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
  const want = new Map<string, number>();
  for (const a of expected.alerts) want.set(`${a.family}|${a.alertType}|${a.entityId}`, (want.get(`${a.family}|${a.alertType}|${a.entityId}`) ?? 0) + 1);
  // Each malformed record that reached a processor raises exactly one MalformedEvent alert.
  for (const e of accepted) {
    if (!e.malformed || !malformedItem(e.family, e.shardId!, e.sequenceNumber!)) continue;
    const key = `${e.family}|MalformedEvent|${e.shardId}/${e.sequenceNumber}`;
    want.set(key, (want.get(key) ?? 0) + 1);
  }
  let missingAlerts = 0;
  let extraAlerts = 0;
  for (const [key, n] of want) {
    const got = actual.get(key) ?? 0;
    if (got < n) {
      missingAlerts += n - got;
      example(`missing alert ${key} (${got}/${n})`);
    }
  }
  for (const [key, n] of actual) {
    const w = want.get(key) ?? 0;
    if (n > w) {
      extraAlerts += n - w;
      example(`unexpected alert ${key} (${n} vs ${w})`);
    }
  }
  const expectedAlertCount = [...want.values()].reduce((a, b) => a + b, 0);

  const checks: Check[] = [
    { check: 'events sent', value: input.entries.length, ok: true },
    { check: 'accepted (API 202 or direct PutRecord)', value: accepted.length, ok: accepted.length > 0 },
    { check: 'malformed bodies refused by the API (400)', value: refusedMalformed.length, ok: true },
    { check: 'valid bodies refused', value: refusedValid.length, ok: refusedValid.length === 0 },
    { check: '→ processed (claim at own shard/sequence, effects visible in every item it touches)', value: processed, ok: true },
    { check: 'claimed but effects not visible (counted as lost)', value: claimedWithoutEffects, ok: claimedWithoutEffects === 0 },
    { check: '→ malformed sink', value: malformedSunk, ok: true },
    { check: '→ DLQ (batch range covers it)', value: dlqd, ok: true, detail: `${input.dlq.length} DLQ batches, ${dlqRecords} records` },
    { check: '→ client retries applied under an earlier record', value: duplicateKeys, ok: true },
    { check: 'LOST (in none)', value: lost, ok: lost === 0 },
    { check: 'DOUBLE (in more than one)', value: multiple, ok: multiple === 0 },
    { check: `aggregate items checked (${fieldsChecked} fields)`, value: itemsChecked, ok: itemsChecked > 0 },
    { check: 'aggregate items off (vs recomputation)', value: itemsWrong, ok: itemsWrong === 0 },
    { check: 'aggregate items nobody should have written', value: unexpectedItems, ok: unexpectedItems === 0 },
    { check: 'alerts expected (recomputed)', value: expectedAlertCount, ok: true },
    { check: 'alerts received (distinct alert_id)', value: ids.size, ok: true },
    { check: 'alerts missing', value: missingAlerts, ok: missingAlerts === 0 },
    { check: 'alerts unexpected', value: extraAlerts, ok: extraAlerts === 0 },
    { check: 'alerts delivered twice (same alert_id)', value: duplicateAlerts, ok: duplicateAlerts === 0 },
  ];
  return {
    checks,
    ok: checks.every((c) => c.ok),
    examples,
    summary: { sent: input.entries.length, accepted: accepted.length, processed, claimedWithoutEffects, malformed: malformedSunk, dlq: dlqd, lost, double: multiple, itemsWrong, missingAlerts, duplicateAlerts, extraAlerts },
  };
}

function describe(value: unknown): string {
  if (value === PRESENT) return 'present';
  if (value instanceof Subset) return `{${Object.entries(value.fields).map(([k, v]) => `${k}: ${describe(v)}`).join(', ')}, …}`;
  return JSON.stringify(value);
}

export function formatChecks(r: Reconciliation): string {
  const lines = ['| check | value | ok |', '|---|---:|:---:|'];
  for (const c of r.checks) lines.push(`| ${c.check}${c.detail ? ` (${c.detail})` : ''} | ${typeof c.value === 'number' ? c.value.toLocaleString('en-US') : c.value} | ${c.ok ? '✓' : '✗'} |`);
  return lines.join('\n');
}
