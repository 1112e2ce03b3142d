/**
 * `terraform validate` and an offline `terraform plan` of every synthesized
 * stack, with the AWS provider taken from a local mirror (TF_PLUGIN_DIR, else
 * a `tf-plugins` folder) and never downloaded. Skipped, with a message saying
 * why, where terraform or the mirror is missing. The plan uses dummy
 * credentials and the provider's skip_* flags (EVENT_FLOW_OFFLINE_PLAN=1), so
 * it checks the whole graph (references, types, provider-side validation of
 * every argument) without an account; the apply rehearsal against moto is in
 * tools/rehearsal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { findTerraformTools, terraform, type TerraformTools } from '../tools/rehearsal/terraform.js';

const found = findTerraformTools();
const missing = 'missing' in found ? found.missing : [];
if (missing.length > 0) console.warn(`[terraform.test] SKIPPED terraform validate and plan: ${missing.join('; ')}`);
const tools = found as TerraformTools;

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** Synthesizes every stack with the offline-plan provider settings (valid configuration for validate too). */
function synthOffline(): string {
  const saved = process.env.EVENT_FLOW_OFFLINE_PLAN;
  process.env.EVENT_FLOW_OFFLINE_PLAN = '1';
  try {
    const outdir = mkdtempSync(join(tmpdir(), 'event-flow-plan-'));
    outdirs.push(outdir);
    const app = new App({ outdir });
    buildApp(app);
    app.synth();
    return outdir;
  } finally {
    if (saved === undefined) delete process.env.EVENT_FLOW_OFFLINE_PLAN;
    else process.env.EVENT_FLOW_OFFLINE_PLAN = saved;
  }
}

const STACKS = ['event-flow-dev', 'event-flow-staging', 'event-flow-prod'];

describe.skipIf(missing.length > 0)('terraform on the synthesized stacks', () => {
  it('validates and plans every environment with the mirrored provider, offline: every resource would be created', async () => {
    const outdir = synthOffline();
    const results = await Promise.all(
      STACKS.map(async (stack) => {
        const dir = join(outdir, 'stacks', stack);
        // The local backend's path points into the repo; the state of a plan-only run belongs in the temp dir.
        await terraform(tools, dir, ['init', `-backend-config=path=${join(dir, 'plan.tfstate')}`, `-plugin-dir=${tools.mirror}`, '-input=false', '-no-color']);
        const validate = JSON.parse((await terraform(tools, dir, ['validate', '-json', '-no-color'])).stdout) as { valid: boolean; error_count: number };
        const plan = await terraform(tools, dir, ['plan', '-input=false', '-no-color', '-refresh=false', '-lock=false'], {
          env: { AWS_ACCESS_KEY_ID: 'offline', AWS_SECRET_ACCESS_KEY: 'offline' },
        });
        return { stack, validate, plan: plan.stdout };
      }),
    );
    for (const { stack, validate, plan } of results) {
      expect(validate, stack).toMatchObject({ valid: true, error_count: 0 });
      const summary = /Plan: (\d+) to add, 0 to change, 0 to destroy/.exec(plan);
      expect(summary, `${stack}: ${plan.slice(-2000)}`).not.toBeNull();
      expect(Number(summary![1]), stack).toBeGreaterThan(150);
      console.log(`[terraform.test] ${stack}: ${summary![0]}`);
    }
  }, 400_000);
});
