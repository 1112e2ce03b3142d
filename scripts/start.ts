/**
 * `npm start`: the whole pipeline locally. Builds the handler bundles (the
 * artifacts that deploy), starts kinesis-local, dynalite, the alert sink, the
 * event source mappings and the API, prints a banner, and stops cleanly on
 * Ctrl-C. `npm start -- --clean` starts from empty state; `PORT` sets the API port.
 */
import { parseArgs } from 'node:util';
import { relative } from 'node:path';
import { buildHandlers } from './build.js';
import { REPO_ROOT, startLocal, type LocalPipeline } from '../local/index.js';

const { values } = parseArgs({
  options: {
    clean: { type: 'boolean', default: false },
    verbose: { type: 'boolean', short: 'v', default: false },
    'no-build': { type: 'boolean', default: false },
  },
});

const t0 = Date.now();
const log = (line: string) => console.log(line);

function banner(local: LocalPipeline, buildMs: number): string {
  const d = local.deployment;
  const first = d.families[0]!;
  const key = local.apiKey ? ` -H 'x-api-key: ${local.apiKey}'` : '';
  const width = Math.max(...d.families.map((f) => f.family.name.length));
  const lines = [
    '',
    `event-flow local (${d.project}, environment ${d.environment}, region ${d.region}) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (bundles ${buildMs} ms)`,
    '',
    `  API          ${local.apiUrl}   (stage ${d.api.stageName}: ${d.api.throttlingRateLimit} req/s, burst ${d.api.throttlingBurstLimit}${local.apiKey ? `, x-api-key ${local.apiKey}` : ''})`,
    `  Kinesis      ${local.kinesisEndpoint}   (kinesis-local pid ${local.kinesisPid}, TLS port ${local.ports.kinesisTls})`,
    `  DynamoDB     ${local.dynamoEndpoint}   (dynalite, table ${d.tableName})`,
    `  EventBridge  ${local.alertSink.endpoint}   (alert sink, bus ${d.alertBusName}; GET ${local.apiUrl}/local/alerts)`,
    `  State        ${relative(process.cwd(), local.stateDir) || '.'}/   (checkpoints, dlq/, logs/; --clean to start empty)`,
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
  const bundlesReady = values['no-build'] ? Promise.resolve() : buildHandlers().then(() => void (buildMs = Date.now() - b0));
  bundlesReady.catch(() => {}); // startLocal reports the failure
  const port = process.env.PORT === undefined ? 4010 : Number(process.env.PORT);
  const local = await startLocal({ port, clean: values.clean, verbose: values.verbose, print: log, bundlesReady });
  log(banner(local, buildMs));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second Ctrl-C: do not wait any longer.
      process.exit(130);
    }
    stopping = true;
    const s0 = Date.now();
    log(`\n${signal}: stopping...`);
    const hard = setTimeout(() => {
      log('stop took over 5 s; exiting anyway');
      process.exit(1);
    }, 5000);
    hard.unref();
    local.stop().then(
      () => {
        log(`stopped in ${Date.now() - s0} ms; state kept in ${relative(process.cwd(), local.stateDir) || REPO_ROOT}/`);
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
