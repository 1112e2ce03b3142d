/**
 * Event generator and load sender:
 *   npm run send -- --family tutoring --rate 500 --duration 30 [--batch 100] [--malformed 0.05]
 *                   [--url http://127.0.0.1:$PORT, else 4010: npm start's API] [--api-key KEY] [--seed 1] [--log sent.jsonl]
 * `--family all` (or a comma list) mixes families. `--count N` stops after N events.
 */
import { parseArgs } from 'node:util';
import { FAMILIES } from '../handlers/families.js';
import { eventSource } from '../tools/generators/source.js';
import { Sender } from '../tools/generators/sender.js';
import { fmt } from '../tools/generators/stats.js';
import { localApiPort } from '../local/ports.js';

const { values } = parseArgs({
  options: {
    family: { type: 'string', default: 'tutoring' },
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '30' },
    count: { type: 'string' },
    batch: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '16' },
    malformed: { type: 'string', default: '0' },
    url: { type: 'string', default: process.env.EVENT_FLOW_URL ?? `http://127.0.0.1:${localApiPort()}` },
    'api-key': { type: 'string', default: process.env.EVENT_FLOW_API_KEY },
    seed: { type: 'string', default: '1' },
    epoch: { type: 'string' },
    'id-prefix': { type: 'string' },
    log: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(
    'npm run send -- --family <name|all|a,b> --rate <ev/s, 0=max> --duration <s> [--count N] [--batch N] ' +
      '[--concurrency N] [--malformed 0.05] [--url URL] [--api-key KEY] [--seed N] [--epoch ISO] [--id-prefix P] [--log FILE]',
  );
  console.log(`families: ${FAMILIES.map((f) => f.name).join(', ')}`);
  process.exit(0);
}

const families = values.family === 'all' ? FAMILIES.map((f) => f.name) : values.family.split(',').map((s) => s.trim());
const seed = Number(values.seed);
const batch = Math.max(1, Math.min(500, Number(values.batch)));
const source = eventSource({
  families,
  seed,
  epochMs: values.epoch ? Date.parse(values.epoch) : Date.now(),
  // Same seed → same ids; a re-run against the same table would otherwise look like client retries.
  idPrefix: values['id-prefix'] ?? `s${seed}-${Date.now().toString(36)}`,
  malformed: Number(values.malformed),
  count: values.count !== undefined ? Number(values.count) : undefined,
});

const sender = new Sender({
  url: values.url,
  apiKey: values['api-key'],
  concurrency: Math.max(1, Number(values.concurrency)),
  batch,
  rate: Number(values.rate),
  logPath: values.log,
  progress: true,
});

console.error(`sending ${families.join('+')} to ${values.url} at ${values.rate === '0' ? 'max' : values.rate} ev/s, batch ${batch}`);
const stopAt = values.count !== undefined ? Number.POSITIVE_INFINITY : Date.now() + Number(values.duration) * 1000;
const summary = await sender.run(source, stopAt);
sender.close();

const rows: [string, string][] = [
  ['events sent', fmt(summary.sent)],
  ['accepted (202)', fmt(summary.accepted)],
  ['rejected', fmt(summary.rejected)],
  ['HTTP requests', fmt(summary.requests)],
  ['retries', fmt(summary.retries)],
  ['elapsed', `${fmt(summary.elapsedMs / 1000, 1)} s`],
  ['accepted events/s', fmt(summary.eventsPerSecond, 1)],
  ['request latency p50 / p95 / p99 / max', `${fmt(summary.latency.p50, 1)} / ${fmt(summary.latency.p95, 1)} / ${fmt(summary.latency.p99, 1)} / ${fmt(summary.latency.max, 1)} ms`],
  ['status codes', Object.entries(summary.statusCounts).map(([s, n]) => `${s}×${n}`).join(' ')],
];
console.log('\n| metric | value |\n|---|---|');
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
if (values.log) console.log(`\nlog: ${values.log}`);
// A connection refused everywhere means nothing was accepted: fail so scripts notice.
process.exit(summary.accepted === 0 && summary.sent > 0 ? 1 : 0);
