/**
 * npm run bench [-- --only 1,3,5] [--events 10000] [--out bench]
 *
 * Every figure is a pair measured in the same run on the same machine: ours
 * next to a baseline. Writes bench/results.json and bench/results.md and prints
 * the table. A part that cannot run (a piece missing, an engine failing) gets a
 * "not available: <why>" row instead of stopping the others.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { coldStart } from '../tools/bench/coldstart.js';
import { endToEnd } from '../tools/bench/e2e.js';
import { ingest } from '../tools/bench/ingest.js';
import { kinesisProbe } from '../tools/bench/kinesis-probe.js';
import { latencyAtLoad, batchTimings } from '../tools/bench/latency.js';
import { deploymentFor, loadStartLocal, quietOptions, type LocalHandle, type LocalOptions } from '../tools/bench/local.js';
import { processorCapacity, processorCpu, processorEfficiency } from '../tools/bench/processor.js';
import { machine, markdownTable, notAvailable, type PartResult, type Row } from '../tools/bench/report.js';
import { synth } from '../tools/bench/synth.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    events: { type: 'string', default: '10000' },
    out: { type: 'string', default: 'bench' },
    env: { type: 'string', default: 'staging' },
  },
});
const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : undefined;
const events = Number(values.events);
const environment = values.env;
const root = resolve(import.meta.dirname, '..');
const started = Date.now();

const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);

async function withLocal(part: string, run: (local: LocalHandle, stateDir: string) => Promise<PartResult>, extra: Partial<LocalOptions> = {}): Promise<PartResult> {
  const startLocal = await loadStartLocal();
  if (typeof startLocal === 'string') return notAvailable(part, startLocal);
  const stateDir = mkdtempSync(join(tmpdir(), 'ef-bench-'));
  let local: LocalHandle | undefined;
  try {
    local = await startLocal(quietOptions(stateDir, { deployment: await deploymentFor(environment, true), ...extra }));
    return await run(local, stateDir);
  } finally {
    await local?.stop().catch(() => {});
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const parts: [string, string, () => Promise<PartResult>][] = [
  ['5', '5 cold start', () => coldStart()],
  ['6', '6 synth', () => synth()],
  ['4', '4 processor CPU', () => processorCpu()],
  ['3', '3 processor efficiency', () => processorEfficiency({ events })],
  ['3b', '3b DynamoDB capacity', () => processorCapacity({ events })],
  ['1', '1 ingest', () => withLocal('1 ingest', (local) => ingest(local))],
  ['1b', '1b kinesis-local', () => kinesisProbe({ rounds: 8, perRound: 2_500 })],
  ['2', '2 end to end', () => withLocal('2 end to end', (local, stateDir) => endToEnd(local, stateDir, { events }))],
  [
    '2b',
    '2b latency at load',
    () => {
      const timings = batchTimings();
      return withLocal('2b latency at load', (local) => latencyAtLoad(local, timings.done), { onBatch: timings.onBatch });
    },
  ],
];

const outDir = resolve(root, values.out);
// With --only, the parts not re-run keep their figures from the last results.json (each row says which run).
const previous: Record<string, { rows: Row[]; data?: unknown; seconds: number; date?: string }> =
  only && existsSync(join(outDir, 'results.json')) ? (JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8')).parts ?? {}) : {};
const results: Record<string, { rows: Row[]; data?: unknown; seconds: number; date?: string }> = { ...previous };
for (const [id, name, run] of parts) {
  if (only && !only.has(id)) continue;
  log(`${name}…`);
  const t0 = Date.now();
  let result: PartResult;
  try {
    result = await run();
  } catch (error) {
    result = notAvailable(name, `failed: ${(error as Error).message.split('\n')[0]!.slice(0, 200)}`);
  }
  results[name] = { ...result, seconds: (Date.now() - t0) / 1000, date: new Date().toISOString() };
  log(`${name} done in ${results[name]!.seconds.toFixed(1)} s`);
}

const order = (name: string) => parseFloat(name.split(' ')[0]!.replace('b', '.5'));
const rows = Object.entries(results)
  .sort(([a], [b]) => order(a) - order(b))
  .flatMap(([, r]) => r.rows);
const m = machine();
const date = new Date().toISOString();
const totalSeconds = (Date.now() - started) / 1000;
const partDates = Object.entries(results)
  .sort(([a], [b]) => order(a) - order(b))
  .map(([name, r]) => `${name.split(' ')[0]}: ${r.date?.slice(0, 16) ?? '?'}Z ${r.seconds.toFixed(0)} s`)
  .join(', ');
const header =
  `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}. Date: ${date}. ` +
  `${only ? `Parts re-run (--only ${values.only}) in ${totalSeconds.toFixed(0)} s; each part's run: ${partDates}.` : `Bench wall time: ${totalSeconds.toFixed(0)} s (${partDates}).`}`;
const md = `# event-flow benchmarks\n\n${header}\n\n${markdownTable(rows)}\n`;
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'results.json'), `${JSON.stringify({ machine: m, date, totalSeconds, options: { events, only: values.only ?? 'all' }, rows, parts: results }, null, 2)}\n`);
writeFileSync(join(outDir, 'results.md'), md);
console.log(`\n${header}\n\n${markdownTable(rows)}\n`);
log(`wrote ${join(values.out, 'results.json')} and ${join(values.out, 'results.md')}`);
// The in-process engines keep sockets alive; the figures are written, so leave.
process.exit(0);
