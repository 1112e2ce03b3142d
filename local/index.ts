/**
 * Local mode: the whole pipeline on one machine, from the same deployment the
 * stacks are synthesized from. `startLocal()` is the programmatic entry point
 * (scripts/start.ts, end-to-end tests, soak tests).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { CreateStreamCommand, DescribeStreamSummaryCommand, ListStreamsCommand, ResourceInUseException, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisStreamEvent } from 'aws-lambda';
import type { PipelineDeployment } from '../modules/deployment.js';
import { startAlertSink, type AlertSink } from './alert-sink.js';
import { dynamoClient, kinesisClient, LOCAL_CREDENTIALS } from './aws.js';
import { CheckpointStore } from './checkpoints.js';
import { createTable, startDynamo } from './engines/dynamodb.js';
import { endLeftoverEngine, startKinesis } from './engines/kinesis.js';
import { failureFolder, readFailureRecords } from './failure-store.js';
import { startProcessorProxy } from './dynamo-proxy.js';
import { seededRandom, type FaultOptions } from './faults.js';
import { startGateway } from './gateway.js';
import { startLivePage } from './live-page.js';
import { Sandbox } from './invoker.js';
import { StreamPoller, type BatchReport, type PollerStats } from './poller.js';
import { assertPortFree, DEFAULT_API_PORT, waitUntil } from './ports.js';
import { processorCredentials, tableHashKeys, type TablePrincipal } from './table-access.js';
import { processorTableAccess } from '../modules/table-access.js';

export type { FaultOptions } from './faults.js';
export type { BatchReport, PollerStats } from './poller.js';
export type { FailureObject, OnFailureRecord, StoredFailure } from './failure-store.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** Account id the local engines use (kinesis-local's default). */
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface StartLocalOptions {
  /** API port; 0 picks a free one. Default 4010. */
  readonly port?: number;
  /** Fixed engine ports (npm start uses PORT+1..PORT+4 so CLI lines stay valid); free ports when absent. */
  readonly enginePorts?: { kinesis?: number; kinesisTls?: number; dynamodb?: number; alertSink?: number; livePage?: number };
  /** State folder (engines' data, checkpoints, failure objects, logs). Default `<repo>/.local`. */
  readonly stateDir?: string;
  /** Start from empty state. */
  readonly clean?: boolean;
  /** Print nothing (tests). */
  readonly quiet?: boolean;
  /** Also print every handler log line (they always go to `<stateDir>/logs/<family>.log`). */
  readonly verbose?: boolean;
  readonly faults?: FaultOptions;
  /**
   * The deployment to run, or a function of the `dev` deployment (tests use it
   * to lower a throttle or add a test-only family). Default: the `dev` stack's.
   */
  readonly deployment?: PipelineDeployment | ((dev: PipelineDeployment) => PipelineDeployment);
  /** API key clients must send when the stage requires keys; generated (and printed) when absent. */
  readonly apiKey?: string;
  /** Where printed lines go; default console.log. */
  readonly print?: (line: string) => void;
  /** Sees every Kinesis event the pollers build, before the handler does. */
  readonly onEvent?: (family: string, event: KinesisStreamEvent) => void;
  readonly onBatch?: (report: BatchReport) => void;
  /**
   * Resolves when the handler bundles are built. The engines start meanwhile;
   * the pollers (which load the bundles) wait for it.
   */
  readonly bundlesReady?: Promise<unknown>;
}

export interface LocalPipeline {
  readonly apiUrl: string;
  /** The live page (local/live-page.ts). */
  readonly pageUrl: string;
  readonly kinesisEndpoint: string;
  /** dynalite itself. */
  readonly dynamoEndpoint: string;
  /**
   * The processors' way to dynalite (local/dynamo-proxy.ts): it refuses what
   * their roles' table grants do not allow, as IAM does, and injects throttling.
   */
  readonly processorDynamoEndpoint: string;
  readonly alertSink: AlertSink;
  readonly deployment: PipelineDeployment;
  readonly stateDir: string;
  readonly apiKey?: string;
  readonly ports: { api: number; kinesis: number; kinesisTls: number; dynamodb: number; alertSink: number };
  readonly kinesisPid: number;
  /** SDK clients on the local engines (HTTP/1.1 for Kinesis). */
  readonly kinesis: KinesisClient;
  readonly dynamo: DynamoDBClient;
  /** Per-family counters of the event source mappings. */
  stats(): Record<string, PollerStats>;
  /** DynamoDB requests seen and throttled by the fault proxy (when dynamoThrottleRate > 0). */
  faultStats(): { requests: number; throttled: number } | undefined;
  /** Processor DynamoDB requests refused because the role's table grant does not allow them. */
  deniedTableRequests(): number;
  /** The family's on-failure destination (local/failure-store.ts reads it). */
  failureFolder(family: string): string;
  /** Stops everything; resolves with when each part had stopped (ms from the call). */
  stop(): Promise<Record<string, number>>;
  /** Milliseconds from the call to "ready". */
  readonly startupMs: number;
  /** Milliseconds at which each start-up phase ended, from the call. */
  readonly phases: Readonly<Record<string, number>>;
}

async function ensureStream(kinesis: KinesisClient, existing: readonly string[], name: string, shardCount: number, mode: 'PROVISIONED' | 'ON_DEMAND'): Promise<void> {
  // A restart finds its streams (persisted by kinesis-local): nothing to create or wait for.
  if (existing.includes(name)) return;
  try {
    await kinesis.send(
      new CreateStreamCommand(
        mode === 'ON_DEMAND' ? { StreamName: name, StreamModeDetails: { StreamMode: 'ON_DEMAND' } } : { StreamName: name, ShardCount: shardCount },
      ),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntil(
    async () =>
      (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE',
    `stream ${name}`,
  );
}

export async function startLocal(options: StartLocalOptions = {}): Promise<LocalPipeline> {
  const t0 = Date.now();
  const phases: Record<string, number> = {};
  const mark = (phase: string) => void (phases[phase] = Date.now() - t0);
  const print = options.quiet ? () => {} : (options.print ?? ((line: string) => console.log(line)));
  const stateDir = resolve(options.stateDir ?? join(REPO_ROOT, '.local'));
  mkdirSync(stateDir, { recursive: true });
  // Two local modes on one state folder would corrupt each other's engines' data.
  const lockFile = join(stateDir, 'lock.pid');
  if (existsSync(lockFile)) {
    const holder = Number(readFileSync(lockFile, 'utf8'));
    let alive = false;
    try {
      alive = holder !== process.pid && process.kill(holder, 0);
    } catch {
      alive = false;
    }
    if (alive) throw new Error(`${stateDir} is in use by process ${holder} (another local mode); stop it or use another stateDir`);
  }
  writeFileSync(lockFile, String(process.pid));
  if (options.clean) {
    for (const entry of ['kinesis', 'dynamodb', 'checkpoints.json', 'failures', 'dlq', 'alerts.jsonl', 'logs']) rmSync(join(stateDir, entry), { recursive: true, force: true });
  }
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  // Before the port checks: a kinesis-local left over by a killed run holds the Kinesis ports.
  await endLeftoverEngine(join(stateDir, 'kinesis'), (m) => print(`warning: ${m}`));
  const ports = options.enginePorts ?? {};
  for (const [what, port] of [['API', options.port ?? DEFAULT_API_PORT], ['Kinesis', ports.kinesis], ['Kinesis TLS', ports.kinesisTls], ['DynamoDB', ports.dynamodb], ['alert sink', ports.alertSink]] as const) {
    if (port) await assertPortFree(port, what);
  }

  const cleanups: Array<() => Promise<void>> = [];
  const engineStops: Array<() => Promise<void>> = [];
  let stopGateway: (() => Promise<void>) | undefined;
  let stopKinesis: (() => Promise<void>) | undefined;
  const quietly = (p: Promise<void> | undefined) => p?.catch(() => {});
  const stopAll = async (): Promise<Record<string, number>> => {
    const s0 = Date.now();
    const timings: Record<string, number> = {};
    const timed = <T>(name: string, p: Promise<T>) => p.finally(() => void (timings[name] = Date.now() - s0));
    // No requests once the gateway is closed, so kinesis-local can start its final write
    // (about half a second) while the pollers and sandboxes wind down.
    await timed('gateway', quietly(stopGateway?.()) ?? Promise.resolve());
    const kinesisDone = timed('kinesis', quietly(stopKinesis?.()) ?? Promise.resolve());
    for (const cleanup of cleanups.splice(0).reverse()) await quietly(cleanup());
    timings.pollers = Date.now() - s0;
    await Promise.all([kinesisDone, timed('others', Promise.all(engineStops.splice(0).map((stop) => quietly(stop()))))]);
    rmSync(lockFile, { force: true });
    return timings;
  };
  const started = <T extends { stop(): Promise<void> }>(engine: T): T => {
    engineStops.push(() => engine.stop());
    return engine;
  };
  try {
    // The engines need nothing from the deployment (kinesis-local takes the region from each
    // request's signature), so they start while the cdktf app is loaded.
    const results = await Promise.allSettled([
      startKinesis({
        dataDir: join(stateDir, 'kinesis'),
        logFile: join(stateDir, 'logs', 'kinesis-local.log'),
        warn: (m) => print(`warning: ${m}`),
        ...(options.enginePorts?.kinesis ? { plainPort: options.enginePorts.kinesis } : {}),
        ...(options.enginePorts?.kinesisTls ? { tlsPort: options.enginePorts.kinesisTls } : {}),
      }).then(
        (engine) => ((stopKinesis = engine.stop), engine),
      ),
      startDynamo({ dataDir: join(stateDir, 'dynamodb'), ...(options.enginePorts?.dynamodb ? { port: options.enginePorts.dynamodb } : {}) }).then(started),
      startAlertSink({ file: join(stateDir, 'alerts.jsonl'), print, ...(options.enginePorts?.alertSink ? { port: options.enginePorts.alertSink } : {}) }).then(started),
      (async (): Promise<PipelineDeployment> => {
        if (typeof options.deployment === 'object') return options.deployment;
        // The stack packages the bundles when it is built, so they must exist first.
        await options.bundlesReady;
        const { loadDeployment } = await import('./deployment.js');
        const dev = await loadDeployment('dev');
        mark('deployment');
        return options.deployment ? options.deployment(dev) : dev;
      })(),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [kinesisEngine, dynamoEngine, alertSink, deployment] = results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
      Awaited<ReturnType<typeof startKinesis>>,
      Awaited<ReturnType<typeof startDynamo>>,
      AlertSink,
      PipelineDeployment,
    ];
    const region = deployment.region;
    mark('engines');
    const kinesis = kinesisClient(kinesisEngine.endpoint, region);
    const dynamo = dynamoClient(dynamoEngine.endpoint, region);
    cleanups.push(async () => {
      kinesis.destroy();
      dynamo.destroy();
    });
    const existing = (await kinesis.send(new ListStreamsCommand({ Limit: 1000 }))).StreamNames ?? [];
    await Promise.all([
      ...deployment.families.map((f) => ensureStream(kinesis, existing, f.stream.name, f.stream.shardCount, f.stream.mode)),
      createTable(dynamo, deployment.tableName),
    ]);
    mark('resources');

    const faults = options.faults ?? {};
    const random = seededRandom(faults.seed ?? 1);
    const throttleRate = faults.dynamoThrottleRate ?? 0;
    const principals = new Map<string, TablePrincipal>();
    const credentials = new Map<string, { accessKeyId: string; secretAccessKey: string }>();
    for (const family of deployment.families) {
      const name = family.family.name;
      const keys = processorCredentials(name, LOCAL_CREDENTIALS.secretAccessKey);
      credentials.set(name, keys);
      principals.set(keys.accessKeyId, {
        access: family.tableAccess ?? processorTableAccess(name, family.processor.functionName),
        sessionName: family.processor.functionName,
      });
    }
    const denialsPrinted = new Map<string, number>();
    const proxy = await startProcessorProxy({
      target: dynamoEngine.endpoint,
      access: {
        scope: { region, accountId: LOCAL_ACCOUNT_ID, tableName: deployment.tableName },
        principals,
        hashKeyOf: tableHashKeys(dynamo),
        onDenied: (denial, principal) => {
          // The processor logs AWS's message; this line says which key or action broke the grant.
          const line = `IAM would deny ${principal.sessionName}: ${denial.request.action} on table/${denial.request.table}: ${denial.reason}`;
          const shown = denialsPrinted.get(principal.sessionName) ?? 0;
          denialsPrinted.set(principal.sessionName, shown + 1);
          if (shown < 3) print(`warning: ${line}${shown === 2 ? ' (further denials are not printed)' : ''}`);
        },
      },
      ...(throttleRate > 0 ? { throttle: { rate: throttleRate, random } } : {}),
    });
    cleanups.push(proxy.stop);
    const processorDynamoEndpoint = proxy.endpoint;
    const crashRate = faults.handlerCrashRate ?? 0;

    const checkpoints = new CheckpointStore(join(stateDir, 'checkpoints.json'));
    const pollers = new Map<string, StreamPoller>();
    for (const family of deployment.families) {
      const name = family.family.name;
      const logFile = join(stateDir, 'logs', `${name}.log`);
      const poller = new StreamPoller({
        family,
        region,
        accountId: LOCAL_ACCOUNT_ID,
        kinesis,
        checkpoints,
        stateDir,
        sandbox: () =>
          new Sandbox({
            deployment: family,
            repoRoot: REPO_ROOT,
            region,
            accountId: LOCAL_ACCOUNT_ID,
            extraEnv: {
              AWS_REGION: region,
              AWS_ENDPOINT_URL_DYNAMODB: processorDynamoEndpoint,
              AWS_ENDPOINT_URL_EVENTBRIDGE: alertSink.endpoint,
              AWS_ACCESS_KEY_ID: credentials.get(name)!.accessKeyId,
              AWS_SECRET_ACCESS_KEY: credentials.get(name)!.secretAccessKey,
            },
            log: (line) => {
              appendFileSync(logFile, `${line}\n`);
              if (options.verbose) print(`  [${name}] ${line}`);
            },
            crash: crashRate > 0 ? () => random() < crashRate : undefined,
          }),
        onBatch: (report) => {
          options.onBatch?.(report);
          print(formatBatch(report));
        },
        ...(options.onEvent ? { onEvent: (event: KinesisStreamEvent) => options.onEvent!(name, event) } : {}),
      });
      pollers.set(name, poller);
    }
    await options.bundlesReady;
    mark('bundles');
    await Promise.all([...pollers.values()].map((p) => p.start()));
    mark('pollers');
    cleanups.push(async () => {
      // In-flight invocations are abandoned uncheckpointed: they are redelivered on the next start.
      await Promise.all([...pollers.values()].map((p) => p.stop(300)));
    });

    const apiKey = deployment.api.apiKeyRequired ? (options.apiKey ?? `local-${randomBytes(12).toString('hex')}`) : undefined;
    const gateway = await startGateway({
      deployment,
      kinesisEndpoint: kinesisEngine.endpoint,
      port: options.port ?? DEFAULT_API_PORT,
      ...(apiKey ? { apiKey } : {}),
      localRoutes: {
        alerts: () => alertSink.events(),
        status: () => ({ stats: Object.fromEntries([...pollers].map(([n, p]) => [n, p.stats])), checkpoints: checkpoints.all() }),
      },
    });
    stopGateway = gateway.stop;
    const page = await startLivePage({ deployment, kinesis, checkpoints: () => checkpoints.all(), stats: () => Object.fromEntries([...pollers].map(([n, p]) => [n, p.stats])), alerts: () => alertSink.events(), failureCount: (family) => readFailureRecords(stateDir, family).length, port: options.enginePorts?.livePage ?? 0 });
    cleanups.push(page.stop);
    const apiPort = Number(new URL(gateway.url).port);

    let stopped: Promise<Record<string, number>> | undefined;
    return {
      apiUrl: gateway.url,
      pageUrl: page.url,
      kinesisEndpoint: kinesisEngine.endpoint,
      dynamoEndpoint: dynamoEngine.endpoint,
      processorDynamoEndpoint,
      alertSink,
      deployment,
      stateDir,
      ...(apiKey ? { apiKey } : {}),
      ports: { api: apiPort, kinesis: kinesisEngine.plainPort, kinesisTls: kinesisEngine.tlsPort, dynamodb: dynamoEngine.port, alertSink: alertSink.port },
      kinesisPid: kinesisEngine.pid,
      kinesis,
      dynamo,
      stats: () => Object.fromEntries([...pollers].map(([name, p]) => [name, { ...p.stats }])),
      faultStats: () => (throttleRate > 0 ? { ...proxy.stats } : undefined),
      deniedTableRequests: () => proxy.denied(),
      failureFolder: (family: string) => failureFolder(stateDir, family),
      startupMs: Date.now() - t0,
      phases,
      stop: () => (stopped ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export function formatBatch(r: BatchReport): string {
  const time = new Date().toISOString().slice(11, 23);
  const size = `${r.size} record${r.size === 1 ? '' : 's'}`;
  return `${time} [${r.family}] ${r.shardId} ${size.padEnd(11)} ${r.outcome.padEnd(7)} ${r.detail}`;
}

export function stateExists(stateDir: string): boolean {
  return existsSync(join(stateDir, 'kinesis'));
}
