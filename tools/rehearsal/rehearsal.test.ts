/**
 * The apply rehearsal in `npm test`: dev and prod applied into one moto
 * account, planned (no changes), destroyed. Skipped, saying why, where
 * terraform, the provider mirror or moto is missing. moto is an emulator: a
 * green rehearsal means the graph applies and round-trips, not that AWS would
 * accept every policy (modules/aws-rules.test.ts covers those rules).
 */
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../modules/app.js';
import { formatRehearsal, rehearsalUnavailable, rehearse } from './rehearse.js';

const unavailable = rehearsalUnavailable();
if (unavailable) console.warn(`[rehearsal.test] SKIPPED the apply rehearsal: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('apply rehearsal against moto', () => {
  it('dev and prod in one account: apply, then a plan of each shows no changes, then destroy removes everything', async () => {
    const result = await rehearse({ stacks: ['event-flow-dev', 'event-flow-prod'], synth: (app) => buildApp(app),
      log: (line) => console.log(`[rehearsal] ${line}`),
      // Below the test's timeout: the rehearsal stops its terraform runs and moto itself.
      timeoutMs: 1_700_000,
    });
    console.log(formatRehearsal(result));
    expect(result.rows.map((r) => r.environment)).toEqual(['dev', 'prod']);
    for (const row of result.rows) {
      expect(row.resourcesCreated, row.environment).toBeGreaterThan(150);
      expect(row.planAfterApply, row.environment).toBe('no changes');
      expect(row.resourcesDestroyed, row.environment).toBe(row.resourcesCreated);
    }
  }, 1_800_000);
});
