/**
 * `npm start`: the whole pipeline locally. Builds the handler bundles (the
 * artifacts that deploy), starts kinesis-local, dynalite, the alert sink, the
 * event source mappings and the API, prints a banner, and stops cleanly on
 * Ctrl-C. `npm start -- --clean` starts from empty state; `PORT` sets the API
 * port (default 4010), and the engines take the next four (Kinesis, its TLS
 * port, DynamoDB, the alert sink), so AWS CLI lines stay valid between runs.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { join, relative } from 'node:path';
import { FAMILIES } from '../handlers/families.js';
import { buildHandlers } from '../tools/build/bundles.js';
import { REPO_ROOT, startLocal, type LocalPipeline } from '../local/index.js';
import { localApiPort } from '../local/ports.js';

const { values } = parseArgs({
  options: {
    clean: { type: 'boolean', default: false },
    verbose: { type: 'boolean', short: 'v', default: false },
    'no-build': { type: 'boolean', default: false },
    build: { type: 'boolean', default: false },
  },
});

const t0 = Date.now();

// The SDK warns once per process that its 2027 releases need Node 22; it is noise in the banner.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : warning.name + warning.message;
  if (/NodeVersionSupportWarning|will require node >=22/.test(text) || rest.includes('NodeVersionSupportWarning')) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
const log = (line: string) => console.log(line);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Bundles newer than every handler source and the lockfile need no rebuild (`--build` forces one). */
function bundlesFresh(): boolean {
  const sources = Math.max(newestMtime(join(REPO_ROOT, 'handlers')), statSync(join(REPO_ROOT, 'package-lock.json')).mtimeMs);
  return FAMILIES.every((family) => {
    const bundle = join(REPO_ROOT, 'dist', 'handlers', family.name, 'index.mjs');
    return existsSync(bundle) && statSync(bundle).mtimeMs > sources;
  });
}

function banner(local: LocalPipeline, buildMs: number): string {
  const d = local.deployment;
  const first = d.families[0]!;
  const key = local.apiKey ? ` -H 'x-api-key: ${local.apiKey}'` : '';
  const width = Math.max(...d.families.map((f) => f.family.name.length));
  const lines = [
    '',
    `event-flow local (${d.project}, environment ${d.environment}, region ${d.region}) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    `  (start-up: ${Object.entries(local.phases).map(([k, v]) => `${k} ${v} ms`).join(', ')}; ${buildMs ? `bundles built in ${buildMs} ms alongside` : 'bundles up to date'})`,
    '',
    `  API          ${local.apiUrl}   (stage ${d.api.stageName}: ${d.api.throttlingRateLimit} req/s, burst ${d.api.throttlingBurstLimit}${local.apiKey ? `, x-api-key ${local.apiKey}` : ''})`,
    `  Kinesis      ${local.kinesisEndpoint}   (kinesis-local pid ${local.kinesisPid}, TLS port ${local.ports.kinesisTls})`,
    `  DynamoDB     ${local.dynamoEndpoint}   (dynalite, table ${d.tableName})`,
    `  EventBridge  ${local.alertSink.endpoint}   (alert sink, bus ${d.alertBusName}; GET ${local.apiUrl}/local/alerts)`,
    `  Live page    ${local.pageUrl}   (per family rates, shard lag, failures, alerts, malformed records; updates every second)`,
    `  State        ${relative(process.cwd(), local.stateDir) || '.'}/   (checkpoints, failures/, logs/; --clean to start empty)`,
    '',
    '  Families',
    ...d.families.map(
      (f) =>
        `    ${f.family.name.padEnd(width)}  POST /events/${f.family.name}[/batch]  stream ${f.stream.name} (${f.stream.shardCount} shard${f.stream.shardCount === 1 ? '' : 's'}), ` +
        `batch ${f.eventSource.batchSize}, window ${f.eventSource.maximumBatchingWindowInSeconds} s, ${f.eventSource.startingPosition}`,
    ),
    '',
    '  Try:',
    `    curl -s -X POST ${local.apiUrl}/events/${first.family.name} -H 'content-type: application/json'${key} \\`,
    `         -d '${JSON.stringify(first.family.example)}'`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  let buildMs = 0;
  const b0 = Date.now();
  // Built while the engines start: only the pollers need the bundles.
  const skip = values['no-build'] || (!values.build && bundlesFresh());
  const bundlesReady = skip ? Promise.resolve() : buildHandlers().then(() => void (buildMs = Date.now() - b0));
  bundlesReady.catch(() => {}); // startLocal reports the failure
  const port = localApiPort();
  const enginePorts = port === 0 ? {} : { kinesis: port + 1, kinesisTls: port + 2, dynamodb: port + 3, alertSink: port + 4, livePage: port + 5 };
  const local = await startLocal({ port, enginePorts, clean: values.clean, verbose: values.verbose, print: log, bundlesReady });
  log(banner(local, buildMs));

  let stoppingSince = 0;
  const stop = (signal: string) => {
    if (stoppingSince) {
      // A terminal's Ctrl-C reaches this process twice (directly, and relayed by the tsx/npm
      // parents), so only a later, deliberate second Ctrl-C gives up on the clean stop.
      if (Date.now() - stoppingSince > 1000) process.exit(130);
      return;
    }
    stoppingSince = Date.now();
    const s0 = Date.now();
    log(`\n${signal}: stopping...`);
    const hard = setTimeout(() => {
      log('stop took over 5 s; exiting anyway');
      process.exit(1);
    }, 5000);
    hard.unref();
    local.stop().then(
      (timings) => {
        const parts = Object.entries(timings).map(([k, v]) => `${k} ${v} ms`).join(', ');
        log(`stopped in ${Date.now() - s0} ms (${parts}); state kept in ${relative(process.cwd(), local.stateDir) || REPO_ROOT}/`);
        process.exit(0);
      },
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
