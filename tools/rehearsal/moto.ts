/**
 * moto's server (an AWS API emulator) for the apply rehearsal: found on PATH
 * as `moto_server` or as the `moto.server` module of the system Python, never
 * installed; started on a free port on 127.0.0.1 and stopped by its pid.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { freePort, sleep } from '../../local/ports.js';
import { findOnPath } from './terraform.js';

export interface MotoCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/** How to start moto here, or undefined (the caller skips and says why). */
export function findMoto(): MotoCommand | undefined {
  const server = findOnPath('moto_server');
  if (server) return { command: server, args: [] };
  const python = findOnPath('python3');
  if (!python) return undefined;
  try {
    execFileSync(python, ['-c', 'import moto.server'], { stdio: 'ignore', timeout: 30_000 });
    return { command: python, args: ['-m', 'moto.server'] };
  } catch {
    return undefined;
  }
}

export const MOTO_MISSING = 'moto_server is not on PATH and the system Python has no moto (it is never installed by this project)';

export interface Moto {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export class MotoStartError extends Error {
  override readonly name = 'MotoStartError';
}

export async function startMoto(moto: MotoCommand): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn(moto.command, [...moto.args, '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killed = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!killed) child.kill('SIGKILL');
    }
    await exited;
  };
  // moto imports every service on start: up to 30 s on a loaded machine.
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new MotoStartError(`moto exited with ${child.exitCode}: ${stderr}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return { endpoint, stop };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop();
  throw new MotoStartError(`moto did not answer on ${endpoint} within 30 s: ${stderr}`);
}
