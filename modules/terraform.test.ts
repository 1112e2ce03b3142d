/**
 * `terraform validate` on every synthesized stack, with the AWS provider taken
 * from a local mirror (TF_PLUGIN_DIR, else a `tf-plugins` folder) and never
 * downloaded. Skipped, with a message saying why, where terraform or the
 * mirror is missing. `EVENT_FLOW_TF_PLAN=1` adds an offline `terraform plan`
 * of the dev stack (dummy credentials, provider skip_* flags).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { App } from 'cdktf';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../main.js';

const run = promisify(execFile);
const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const PROVIDER = join('registry.terraform.io', 'hashicorp', 'aws', '5.100.0');

function findTerraform(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'terraform');
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function findPluginMirror(): string | undefined {
  const candidates = [
    process.env.TF_PLUGIN_DIR,
    '/opt/tf-plugins',
    join(homedir(), 'tf-plugins'),
    join(repoRoot, '..', 'tf-plugins'),
    join(repoRoot, 'tf-plugins'),
  ];
  return candidates.find((dir): dir is string => !!dir && existsSync(join(dir, PROVIDER)));
}

const terraform = findTerraform();
const mirror = findPluginMirror();
const missing = [!terraform && 'terraform is not on PATH', !mirror && `no provider mirror with ${PROVIDER} (set TF_PLUGIN_DIR)`].filter(Boolean);
if (missing.length > 0) console.warn(`[terraform.test] SKIPPED terraform validate: ${missing.join('; ')}`);

// Terraform must neither phone home nor read a user's CLI config (which could point at a network mirror).
const tfEnv = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: '/dev/null' };

async function tf(dir: string, args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(terraform!, args, { cwd: dir, env: { ...tfEnv, ...extraEnv }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function synthTo(prefix: string): string {
  const outdir = mkdtempSync(join(tmpdir(), prefix));
  outdirs.push(outdir);
  const app = new App({ outdir });
  buildApp(app);
  app.synth();
  return outdir;
}

describe.skipIf(missing.length > 0)('terraform on the synthesized stacks', () => {
  it('validates every environment with the mirrored provider, offline', async () => {
    const outdir = synthTo('event-flow-validate-');
    const stacks = ['event-flow-dev', 'event-flow-staging', 'event-flow-prod'];
    const results = await Promise.all(
      stacks.map(async (stack) => {
        const dir = join(outdir, 'stacks', stack);
        await tf(dir, ['init', '-backend=false', `-plugin-dir=${mirror}`, '-input=false', '-no-color']);
        return JSON.parse(await tf(dir, ['validate', '-json', '-no-color'])) as { valid: boolean; error_count: number; diagnostics: unknown[] };
      }),
    );
    for (const [i, result] of results.entries()) {
      expect(result, stacks[i]).toMatchObject({ valid: true, error_count: 0 });
    }
  }, 120_000);

  it.runIf(process.env.EVENT_FLOW_TF_PLAN === '1')('plans the dev stack offline: every resource would be created', async () => {
    const saved = process.env.EVENT_FLOW_OFFLINE_PLAN;
    process.env.EVENT_FLOW_OFFLINE_PLAN = '1';
    let outdir: string;
    try {
      outdir = synthTo('event-flow-plan-');
    } finally {
      if (saved === undefined) delete process.env.EVENT_FLOW_OFFLINE_PLAN;
      else process.env.EVENT_FLOW_OFFLINE_PLAN = saved;
    }
    const dir = join(outdir, 'stacks', 'event-flow-dev');
    // The local backend's path points into the repo; the state of a plan-only run belongs in the temp dir.
    await tf(dir, ['init', `-backend-config=path=${join(dir, 'plan.tfstate')}`, `-plugin-dir=${mirror}`, '-input=false', '-no-color']);
    const plan = await tf(dir, ['plan', '-input=false', '-no-color', '-refresh=false', '-lock=false'], {
      AWS_ACCESS_KEY_ID: 'offline',
      AWS_SECRET_ACCESS_KEY: 'offline',
    });
    const summary = /Plan: (\d+) to add, 0 to change, 0 to destroy/.exec(plan);
    expect(summary, plan.slice(-2000)).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThan(150);
  }, 240_000);
});
