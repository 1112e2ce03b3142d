/**
 * The apply rehearsal: the synthesized stacks applied to moto (an AWS API
 * emulator), then planned (a correct stack plans no changes right after its
 * apply), then destroyed. The environments are applied into one moto account
 * and planned only after all of them are applied, so a plan also shows any
 * account-wide setting two environments fight over (issue 9, finding 3).
 *
 * What this proves: the graph applies in dependency order against real API
 * calls, every attribute round-trips (no perpetual diff), and destroy leaves
 * nothing behind. What it cannot: IAM evaluation, KMS key policies, quotas
 * and service-side validation moto does not implement (modules/aws-rules.test.ts
 * encodes those rules from the AWS documentation).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { App } from 'cdktf';
import { findMoto, MOTO_MISSING, startMoto } from './moto.js';
import { motoOverride, teardownOverride } from './override.js';
import { findTerraformTools, terraform, type TerraformTools } from './terraform.js';

export interface RehearsalRow {
  readonly environment: string;
  readonly resourcesCreated: number;
  readonly applySeconds: number;
  readonly planSeconds: number;
  readonly destroySeconds: number;
  readonly resourcesDestroyed: number;
  /** `no changes`, or the addresses the plan would change. */
  readonly planAfterApply: string;
  readonly planClean: boolean;
}

export interface RehearsalResult {
  readonly rows: readonly RehearsalRow[];
  readonly totalSeconds: number;
}

export interface RehearsalOptions {
  /** Stack names as synthesized, e.g. `event-flow-dev`. */
  readonly stacks: readonly string[];
  /** Builds the app into the given outdir (the caller chooses families and settings). */
  readonly synth: (app: App) => void;
  readonly log?: (line: string) => void;
  /** Terraform's -parallelism; moto answers concurrent calls. */
  readonly parallelism?: number;
  /**
   * Stops every terraform run and moto after this long and fails, so nothing
   * outlives a caller's own timeout. @default 1,500,000 (25 minutes)
   */
  readonly timeoutMs?: number;
}

export class RehearsalTimeoutError extends Error {
  override readonly name = 'RehearsalTimeoutError';
}

/** Why the rehearsal cannot run here, or undefined. */
export function rehearsalUnavailable(): string | undefined {
  const tools = findTerraformTools();
  const missing = 'missing' in tools ? [...tools.missing] : [];
  if (!findMoto()) missing.push(MOTO_MISSING);
  return missing.length > 0 ? missing.join('; ') : undefined;
}

const seconds = (start: number) => Math.round((performance.now() - start) / 100) / 10;

function count(output: string, pattern: RegExp): number {
  const match = pattern.exec(output);
  return match ? Number(match[1]) : 0;
}

/** Addresses a plan would change, from its human-readable output. */
function changedAddresses(plan: string): string[] {
  return [...plan.matchAll(/^ {2}# (\S+) (?:will|must) be /gm)].map((m) => m[1]!).filter((address) => !address.startsWith('data.'));
}

export async function rehearse(options: RehearsalOptions): Promise<RehearsalResult> {
  const log = options.log ?? (() => {});
  const tools = findTerraformTools();
  const moto = findMoto();
  if ('missing' in tools || !moto) throw new Error(`rehearsal unavailable: ${rehearsalUnavailable()}`);
  const parallelism = `-parallelism=${options.parallelism ?? 20}`;
  const started = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'event-flow-rehearsal-'));
  const server = await startMoto(moto);
  log(`moto on ${server.endpoint}; work folder ${work}`);
  const abort = new AbortController();
  const timeoutMs = options.timeoutMs ?? 1_500_000;
  const timer = setTimeout(() => abort.abort(new RehearsalTimeoutError(`rehearsal stopped after ${timeoutMs / 1000} s`)), timeoutMs);
  try {
    const app = new App({ outdir: join(work, 'synth') });
    options.synth(app);
    app.synth();

    const dirs = options.stacks.map((stack) => {
      const dir = join(work, stack);
      cpSync(join(work, 'synth', 'stacks', stack), dir, { recursive: true });
      const json = JSON.parse(readFileSync(join(dir, 'cdk.tf.json'), 'utf8')) as {
        provider: { aws: Array<{ region: string }> };
        resource?: Record<string, Record<string, Record<string, unknown>>>;
      };
      const override = motoOverride(json, { endpoint: server.endpoint, statePath: join(dir, 'terraform.tfstate'), region: json.provider.aws[0]!.region });
      writeFileSync(join(dir, 'rehearsal_override.tf.json'), JSON.stringify(override, null, 2));
      return { stack, dir, teardown: teardownOverride(json) };
    });
    const tf = (dir: string, args: string[], accept?: number[]) =>
      terraform(tools as TerraformTools, dir, [...args, '-input=false', '-no-color'], { accept, signal: abort.signal });

    const applied = await Promise.all(
      dirs.map(async ({ stack, dir }) => {
        await tf(dir, ['init', `-plugin-dir=${(tools as TerraformTools).mirror}`]);
        const t = performance.now();
        const apply = await tf(dir, ['apply', '-auto-approve', parallelism]);
        const row = { stack, dir, resourcesCreated: count(apply.stdout, /Resources: (\d+) added/), applySeconds: seconds(t) };
        log(`${stack}: applied ${row.resourcesCreated} resources in ${row.applySeconds} s`);
        return row;
      }),
    );
    // Every environment is in the account before any is planned: a setting two stacks manage shows up as a change.
    const planned = await Promise.all(
      applied.map(async (row) => {
        const t = performance.now();
        const plan = await tf(row.dir, ['plan', '-detailed-exitcode', parallelism], [2]);
        const changes = changedAddresses(plan.stdout);
        const planAfterApply = plan.exitCode === 0 ? 'no changes' : `changes: ${changes.join(', ') || plan.stdout.slice(-1000)}`;
        log(`${row.stack}: plan after apply: ${planAfterApply}`);
        return { ...row, planSeconds: seconds(t), planAfterApply, planClean: plan.exitCode === 0 };
      }),
    );
    const rows = await Promise.all(
      planned.map(async (row) => {
        const t = performance.now();
        const teardown = dirs.find((d) => d.dir === row.dir)!.teardown;
        if (teardown) {
          writeFileSync(join(row.dir, 'teardown_override.tf.json'), JSON.stringify(teardown.override, null, 2));
          await tf(row.dir, ['apply', '-auto-approve', ...teardown.targets.map((target) => `-target=${target}`)]);
          log(`${row.stack}: teardown settings applied to ${teardown.targets.join(', ')}`);
        }
        const destroy = await tf(row.dir, ['destroy', '-auto-approve', parallelism]);
        const resourcesDestroyed = count(destroy.stdout, /Resources: (\d+) destroyed/);
        log(`${row.stack}: destroyed ${resourcesDestroyed} resources`);
        return {
          environment: row.stack.replace(/^event-flow-/, ''),
          resourcesCreated: row.resourcesCreated,
          applySeconds: row.applySeconds,
          planSeconds: row.planSeconds,
          destroySeconds: seconds(t),
          resourcesDestroyed,
          planAfterApply: row.planAfterApply,
          planClean: row.planClean,
        };
      }),
    );
    return { rows, totalSeconds: seconds(started) };
  } catch (error) {
    throw abort.signal.aborted ? abort.signal.reason : error;
  } finally {
    clearTimeout(timer);
    abort.abort();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

export function formatRehearsal(result: RehearsalResult): string {
  const header = ['environment', 'resources created', 'apply s', 'plan s', 'destroy s', 'plan after apply'];
  const rows = result.rows.map((r) => [r.environment, String(r.resourcesCreated), r.applySeconds.toFixed(1), r.planSeconds.toFixed(1), r.destroySeconds.toFixed(1), r.planAfterApply]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line), `total ${result.totalSeconds.toFixed(1)} s (applies, plans and destroys of the environments run side by side)`].join('\n');
}
