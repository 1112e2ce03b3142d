/**
 * A small soak inside `npm test`: the whole local pipeline with the soak's
 * faults (malformed bodies and records, handler crashes, DynamoDB throttling,
 * a restart in the middle), then reconciliation. No timing assertions: only
 * that nothing was lost or applied twice and the table and alerts match an
 * independent recomputation. Then the same evidence, tampered with, must fail
 * the reconciliation: the checks are shown to bite.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { reconcile, type ReconcileInput } from '../scripts/soak/reconcile.js';
import { runSoak, type SoakResult } from '../scripts/soak/run.js';

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
