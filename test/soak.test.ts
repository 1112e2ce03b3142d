/**
 * A small soak inside `npm test`: the whole local pipeline with the soak's
 * faults (malformed bodies and records, handler crashes, DynamoDB throttling,
 * a restart in the middle), then reconciliation. No timing assertions: only
 * that nothing was lost or applied twice and the table and alerts match an
 * independent recomputation. Then the same evidence, tampered with, must fail
 * the reconciliation: the checks are shown to bite, including a claim whose
 * effects are missing (the reconciliation does not trust claims alone).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { reconcile, type ReconcileInput } from '../tools/soak/reconcile.js';
import { runSoak, type SoakResult } from '../tools/soak/run.js';

describe('soak with faults', () => {
  let result: SoakResult;
  let inputs: ReconcileInput;

  beforeAll(async () => {
    // runSoak stops local mode and removes its state directory in its own finally, even on failure.
    result = await runSoak({ events: 1000, seed: 11, quiescenceTimeoutMs: 150_000, returnInputs: true });
    inputs = result.inputs!;
  }, 240_000);

  it('loses nothing and applies nothing twice across faults and a restart', () => {
    const failed = result.checks.filter((c) => !c.ok);
    expect(failed, result.examples.join('\n')).toEqual([]);
    expect(result.summary.lost).toBe(0);
    expect(result.summary.double).toBe(0);
    expect(result.summary.accepted).toBeGreaterThan(900);
    // The faults were really there: malformed records reached the processors' sink.
    expect(result.summary.malformed).toBeGreaterThan(0);
    expect(result.summary.processed + result.summary.malformed + result.summary.dlq).toBe(result.summary.accepted);
    expect(result.summary.claimedWithoutEffects).toBe(0);
  });

  it('reports the peak memory of this process and of kinesis-local in each lifetime of local mode', () => {
    expect(result.memory.peakRssMiBPerLifetime).toHaveLength(2);
    expect(Math.min(...result.memory.peakRssMiBPerLifetime)).toBeGreaterThan(50);
    expect(result.memory.maxRssMiB).toBeGreaterThanOrEqual(Math.max(...result.memory.peakRssMiBPerLifetime) - 1);
    // /proc is Linux's; elsewhere the soak says it could not measure the engine.
    if (process.platform === 'linux') {
      expect(result.memory.kinesisPeakRssMiBPerLifetime).toHaveLength(2);
      expect(result.memory.kinesisPeakRssMiBPerLifetime.every((m) => m > 20)).toBe(true);
    }
  });

  const s = (v: AttributeValue | undefined) => v?.S ?? '';

  it('flags a counter off by one', () => {
    const items = inputs.items.map((item) => ({ ...item }));
    const index = items.findIndex((i) => s(i.pk).startsWith('user_activity#user#') && s(i.sk) === 'profile');
    items[index] = { ...items[index]!, total: { N: String(Number(items[index]!.total!.N) + 1) } };
    const r = reconcile({ ...inputs, items });
    expect(r.ok).toBe(false);
    expect(r.summary.itemsWrong).toBe(1);
  });

  it('flags an event whose claim is missing as lost', () => {
    const claim = inputs.items.findIndex((i) => s(i.pk).startsWith('tutoring#claim#'));
    const r = reconcile({ ...inputs, items: inputs.items.filter((_, i) => i !== claim) });
    expect(r.summary.lost).toBe(1);
    expect(r.ok).toBe(false);
  });

  it('flags a claim without its effects: the claim stays, the item it names was never written', () => {
    // An order with exactly one accepted event: its claim is intact, its only item removed.
    const perOrder = new Map<string, number>();
    for (const e of inputs.entries) if (e.accepted && !e.malformed && e.family === 'orders') perOrder.set(String(e.body!.order_id), (perOrder.get(String(e.body!.order_id)) ?? 0) + 1);
    const order = [...perOrder].find(([, n]) => n === 1)![0];
    const items = inputs.items.filter((i) => s(i.pk) !== `orders#order#${order}`);
    expect(items.length).toBe(inputs.items.length - 1);
    const r = reconcile({ ...inputs, items });
    expect(r.summary.claimedWithoutEffects).toBe(1);
    expect(r.summary.lost).toBe(1);
    expect(r.ok).toBe(false);
  });

  it('flags a claim whose effect is missing from an item other events also wrote', () => {
    // One user's profile and day counters one event short, every claim intact.
    const index = inputs.items.findIndex((i) => s(i.pk).startsWith('user_activity#user#') && s(i.sk) === 'profile' && Number(i.total?.N) >= 2);
    const profile = inputs.items[index]!;
    const action = Object.keys(profile.actions!.M!)[0]!;
    const items = [...inputs.items];
    items[index] = {
      ...profile,
      total: { N: String(Number(profile.total!.N) - 1) },
      actions: { M: { ...profile.actions!.M!, [action]: { N: String(Number(profile.actions!.M![action]!.N) - 1) } } },
    };
    const r = reconcile({ ...inputs, items });
    expect(r.summary.claimedWithoutEffects).toBeGreaterThanOrEqual(1);
    expect(r.summary.lost).toBe(r.summary.claimedWithoutEffects);
    expect(r.ok).toBe(false);
    // An excess (a counter one above) is an aggregate off, not a missing effect.
    items[index] = { ...profile, total: { N: String(Number(profile.total!.N) + 1) } };
    const excess = reconcile({ ...inputs, items });
    expect(excess.summary.itemsWrong).toBe(1);
    expect(excess.summary.claimedWithoutEffects).toBe(0);
  });

  it('flags a payment status whose time is missing from its payment (per-event evidence)', () => {
    const index = inputs.items.findIndex((i) => s(i.pk).startsWith('payments#order#') && Object.keys(i.payments?.M ?? {}).length > 0);
    const item = inputs.items[index]!;
    const [id, payment] = Object.entries(item.payments!.M!)[0]!;
    const events = { ...payment.M!.events!.M! };
    delete events[Object.keys(events)[0]!];
    const items = [...inputs.items];
    items[index] = { ...item, payments: { M: { ...item.payments!.M!, [id]: { M: { ...payment.M!, events: { M: events } } } } } };
    const r = reconcile({ ...inputs, items });
    expect(r.summary.claimedWithoutEffects).toBeGreaterThanOrEqual(1);
    expect(r.ok).toBe(false);
  });

  it('flags a processed event also covered by a DLQ batch as double', () => {
    const e = inputs.entries.find((x) => x.accepted && !x.malformed && x.family === 'orders')!;
    const stream = inputs.streams.get('orders')!;
    const dlq = [
      ...inputs.dlq,
      { KinesisBatchInfo: { shardId: e.shardId!, startSequenceNumber: e.sequenceNumber!, endSequenceNumber: e.sequenceNumber!, batchSize: 1, streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}` } },
    ];
    const r = reconcile({ ...inputs, dlq });
    expect(r.summary.double).toBe(1);
    expect(r.ok).toBe(false);
  });

  it('flags an alert delivered twice and an alert missing', () => {
    expect(inputs.alerts.length).toBeGreaterThan(0);
    const twice = reconcile({ ...inputs, alerts: [...inputs.alerts, inputs.alerts[0]!] });
    expect(twice.summary.duplicateAlerts).toBe(1);
    const missing = reconcile({ ...inputs, alerts: inputs.alerts.slice(1) });
    expect(missing.summary.missingAlerts).toBe(1);
  });
});
