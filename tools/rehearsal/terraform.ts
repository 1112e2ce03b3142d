/**
 * Finding and running terraform without the network: the binary from PATH,
 * the AWS provider from a local mirror (TF_PLUGIN_DIR, else a `tf-plugins`
 * folder), no checkpoint calls, no user CLI configuration. Used by
 * modules/terraform.test.ts and the apply rehearsal.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The provider version cdktf's prebuilt provider (@cdktf/provider-aws 20.1) pins. */
export const PROVIDER = join('registry.terraform.io', 'hashicorp', 'aws', '5.100.0');

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function findPluginMirror(): string | undefined {
  const candidates = [process.env.TF_PLUGIN_DIR, '/opt/tf-plugins', join(homedir(), 'tf-plugins'), join(repoRoot, '..', 'tf-plugins'), join(repoRoot, 'tf-plugins')];
  return candidates.find((dir): dir is string => !!dir && existsSync(join(dir, PROVIDER)));
}

export interface TerraformTools {
  readonly terraform: string;
  readonly mirror: string;
}

/** The tools, or the reasons they are missing (for a skip message). */
export function findTerraformTools(): TerraformTools | { readonly missing: string[] } {
  const terraform = findOnPath('terraform');
  const mirror = findPluginMirror();
  if (terraform && mirror) return { terraform, mirror };
  return { missing: [!terraform && 'terraform is not on PATH', !mirror && `no provider mirror with ${PROVIDER} (set TF_PLUGIN_DIR)`].filter((m): m is string => !!m) };
}

// Terraform must neither phone home nor read a user's CLI config (which could point at a network mirror).
const TF_ENV = { CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: '/dev/null' };

export interface TfResult {
  readonly stdout: string;
  readonly exitCode: number;
}

/**
 * Runs terraform in `dir`. Exit codes in `accept` are results, not failures
 * (`plan -detailed-exitcode` answers 2 for "changes"); any other is thrown
 * with the end of terraform's output.
 */
export async function terraform(
  tools: TerraformTools,
  dir: string,
  args: string[],
  options: { env?: Record<string, string>; accept?: number[]; signal?: AbortSignal } = {},
): Promise<TfResult> {
  try {
    const { stdout } = await run(tools.terraform, args, {
      cwd: dir,
      env: { ...process.env, ...TF_ENV, ...options.env },
      maxBuffer: 256 * 1024 * 1024,
      // Aborting sends SIGTERM: terraform stops its provider and releases the state lock.
      signal: options.signal,
    });
    return { stdout, exitCode: 0 };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code === 'number' && options.accept?.includes(e.code)) return { stdout: e.stdout ?? '', exitCode: e.code };
    throw new TerraformError(`terraform ${args[0]} failed in ${dir} (exit ${e.code}):\n${(e.stderr ?? '').slice(-4000)}\n${(e.stdout ?? '').slice(-4000)}`);
  }
}

export class TerraformError extends Error {
  override readonly name = 'TerraformError';
}
