/**
 * A small soak inside `npm test`: the whole local pipeline with the soak's
 * faults (malformed bodies and records, handler crashes, DynamoDB throttling,
 * a restart in the middle), then reconciliation. No timing assertions: only
 * that nothing was lost or applied twice and the table and alerts match an
 * independent recomputation.
 */
import { describe, expect, it } from 'vitest';
import { runSoak, type SoakResult } from '../scripts/soak/run.js';

describe('soak with faults', () => {
  it('loses nothing and applies nothing twice across faults and a restart', async () => {
    // runSoak stops local mode and removes its state directory in its own finally.
    const result: SoakResult = await runSoak({ events: 1000, seed: 11, quiescenceTimeoutMs: 150_000 });
    const failed = result.checks.filter((c) => !c.ok);
    expect(failed, result.examples.join('\n')).toEqual([]);
    expect(result.summary.lost).toBe(0);
    expect(result.summary.double).toBe(0);
    expect(result.summary.accepted).toBeGreaterThan(900);
    // The faults were really there: malformed records reached the processors' sink.
    expect(result.summary.malformed).toBeGreaterThan(0);
    expect(result.summary.processed + result.summary.malformed + result.summary.dlq).toBeGreaterThanOrEqual(result.summary.accepted);
  }, 240_000);
});
