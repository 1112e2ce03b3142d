/**
 * Debian's Chromium for the browser tests, installed by the project itself
 * where it is missing: `apt-get install -y chromium` when running as root with
 * apt-get available (as in CI containers); otherwise the tests are skipped
 * with a message saying how to install it. Never a browser download.
 * Test-only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, headless, offline Chromium in a container. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-quic',
  '--disable-component-update',
  '--disable-sync',
];

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The Chromium executable, installing it with apt-get if possible; or why there is none. */
export function ensureChromium(): { path: string } | { skip: string } {
  if (existsSync(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !onPath('apt-get')) {
    return { skip: `no ${CHROMIUM_PATH}, and cannot install it here (needs root and apt-get): run \`sudo apt-get install -y chromium\`` };
  }
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'ignore', env, timeout: 15 * 60_000 });
  } catch {
    try {
      // The package lists may be missing in a fresh container.
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      execFileSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 10 * 60_000 });
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'ignore', env, timeout: 15 * 60_000 });
    } catch (error) {
      return { skip: `apt-get install -y chromium failed: ${(error as Error).message}` };
    }
  }
  return existsSync(CHROMIUM_PATH) ? { path: CHROMIUM_PATH } : { skip: `apt-get installed chromium but ${CHROMIUM_PATH} is missing` };
}

/** A fresh profile folder per run, so no state leaks between runs. */
export function freshUserDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'event-flow-chromium-'));
}
