/**
 * The bench's and soak's view of local mode (local/index.ts, `startLocal`),
 * loaded lazily so the bench still runs the parts that do not need it when
 * local mode is missing or fails to start.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PipelineDeployment } from '../../modules/deployment.js';

const root = resolve(import.meta.dirname, '../..');

export interface LocalHandle {
  apiUrl: string;
  apiKey?: string;
  stateDir: string;
  kinesisEndpoint: string;
  dynamoEndpoint: string;
  deployment: PipelineDeployment;
  stop(): Promise<void>;
}

export interface LocalOptions {
  stateDir: string;
  clean?: boolean;
  quiet?: boolean;
  port?: number;
  print?: (line: string) => void;
  deployment?: PipelineDeployment;
  faults?: { handlerCrashRate?: number; dynamoThrottleRate?: number; seed?: number };
  /** Local mode's report of every batch the pollers finish (local/poller.ts BatchReport). */
  onBatch?: (report: import('../../local/poller.js').BatchReport) => void;
}

type StartLocal = (options: LocalOptions) => Promise<LocalHandle>;

export async function loadStartLocal(): Promise<StartLocal | string> {
  if (!existsSync(join(root, 'local/index.ts'))) return 'local mode (local/index.ts) has not landed';
  // A variable specifier: this file must type-check before local/index.ts exists.
  const spec = '../../local/index.js';
  try {
    const mod = (await import(spec)) as { startLocal?: StartLocal };
    if (typeof mod.startLocal !== 'function') return 'local/index.ts exports no startLocal';
    return mod.startLocal;
  } catch (error) {
    return `local mode failed to load: ${(error as Error).message.split('\n')[0]}`;
  }
}

/** Quiet options: local mode's banner and alert printing would interleave with the tables. */
export function quietOptions(stateDir: string, extra: Partial<LocalOptions> = {}): LocalOptions {
  return { stateDir, clean: true, quiet: true, print: () => {}, port: 0, ...extra };
}

/**
 * The deployment the bench and soak run: `staging` by default (2 shards,
 * batch 200, 1 s window: closer to production than dev's 1 shard and 5 s window).
 * `liftThrottle` removes the stage's rate limit so the ingest part measures the
 * gateway and Kinesis, not the configured throttle.
 */
export async function deploymentFor(environment: string, liftThrottle: boolean): Promise<PipelineDeployment> {
  const spec = '../../local/deployment.js';
  const mod = (await import(spec)) as { loadDeployment: (env: string) => Promise<PipelineDeployment> };
  const deployment = await mod.loadDeployment(environment);
  if (!liftThrottle) return deployment;
  return { ...deployment, api: { ...deployment.api, throttlingRateLimit: 1_000_000, throttlingBurstLimit: 1_000_000 } };
}

function findFiles(dir: string, test: (name: string) => boolean, depth = 4): string[] {
  if (depth < 0 || !existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const stat = statSync(full, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isDirectory()) out.push(...findFiles(full, test, depth - 1));
    else if (test(name)) out.push(full);
  }
  return out;
}

/**
 * The event source mappings' per-shard checkpoints (local/checkpoints.ts):
 * `<stream>/<shardId>` → last sequence number whose batch is done. A batch
 * is done once its effects are in the table (or it went to the DLQ).
 */
export function readCheckpoints(stateDir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of findFiles(stateDir, (n) => /checkpoint.*\.json$/i.test(n))) {
    try {
      const data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { sequenceNumber?: string }>;
      for (const [key, value] of Object.entries(data)) if (value?.sequenceNumber) out.set(key, value.sequenceNumber);
    } catch {
      // Mid-rename or absent: the next poll reads it.
    }
  }
  return out;
}

/** Kinesis sequence numbers are decimal strings of varying length. */
export function seqGte(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a >= b;
}
