/**
 * kinesis-local (kinesis-mock, the engine LocalStack uses) as a child process
 * on 127.0.0.1, with its data persisted under the state directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { kinesisClient } from '../aws.js';
import { freePort, sleep } from '../ports.js';

export interface KinesisEngine {
  readonly endpoint: string;
  readonly plainPort: number;
  readonly tlsPort: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface KinesisEngineOptions {
  /** Folder for kinesis-local's data file; persisted between runs. */
  readonly dataDir: string;
  /** Default region of unsigned requests; signed ones use their own (kinesis-local honours the signing region). */
  readonly region?: string;
  /** Where the engine's own log goes (it is chatty at INFO). */
  readonly logFile: string;
  readonly plainPort?: number;
  readonly tlsPort?: number;
  /** Told about trouble with the engine's data file (torn at start, or not written at stop). */
  readonly warn?: (message: string) => void;
}

const DATA_FILE = 'kinesis-data.json';
const SNAPSHOT_FILE = 'kinesis-data.snapshot.json';
/**
 * How often kinesis-local rewrites its whole data file. Each write serializes
 * every record still in the streams, so its cost grows with them: at 0.5 s the
 * engine spent most of its CPU writing once the streams held ~20 MB (30,000
 * records), and ingest fell from ~150 to under 10 events/s (bench part 1b).
 * stop() waits for the next write, so a clean stop keeps everything; a kill
 * loses at most the records of the last interval.
 */
export const PERSIST_INTERVAL_MS = 5_000;
/** How long stop() waits for that write: a few intervals normally, much longer when the engine is starved of CPU. */
const PERSIST_WAIT_MS = 3 * PERSIST_INTERVAL_MS + 10_000;

/**
 * kinesis-local rewrites its data file in place (truncate, then write) every
 * interval and not at all on SIGTERM, so any kill can land mid-write. stop()
 * therefore keeps a verified snapshot of the last complete file; a start that
 * finds the file torn restores the snapshot, or sets the file aside.
 */
function readJson(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    JSON.parse(text);
    return text;
  } catch {
    return undefined;
  }
}

function repairDataFile(dataDir: string, warn?: (message: string) => void): void {
  const file = join(dataDir, DATA_FILE);
  if (!existsSync(file) || readJson(file) !== undefined) return;
  const aside = `${file}.torn-${Date.now()}`;
  renameSync(file, aside);
  const snapshot = readJson(join(dataDir, SNAPSHOT_FILE));
  if (snapshot !== undefined) {
    writeFileSync(file, snapshot);
    warn?.(`kinesis-local's data file was torn; restored the snapshot taken at the last clean stop (torn file kept as ${aside})`);
  } else {
    warn?.(`kinesis-local's data file was torn (an earlier hard kill?); moved to ${aside}, starting with empty streams`);
  }
}

const require = createRequire(import.meta.url);
const PID_FILE = 'kinesis-local.pid';

/**
 * A kinesis-local left running by a local mode that was killed outright
 * (kill -9 skips every exit handler) still holds its ports and rewrites this
 * data folder. It is recognised by its pid file, its command line and its
 * working directory (this folder), and ended. The caller holds the state
 * folder's lock, so no live local mode owns it.
 */
export async function endLeftoverEngine(dataDir: string, warn?: (message: string) => void): Promise<void> {
  const pidFile = join(dataDir, PID_FILE);
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  rmSync(pidFile, { force: true });
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('kinesis-local') || readlinkSync(`/proc/${pid}/cwd`) !== dataDir) return;
    process.kill(pid, 'SIGKILL');
    warn?.(`ended kinesis-local ${pid}, left running on this state folder by an earlier local mode that was killed`);
    for (let i = 0; i < 40; i++) {
      process.kill(pid, 0);
      await sleep(25);
    }
  } catch {
    // gone (or not ours, or no /proc): nothing to end
  }
}

export async function startKinesis(options: KinesisEngineOptions): Promise<KinesisEngine> {
  const main = require.resolve('kinesis-local/main.js');
  const plainPort = options.plainPort ?? (await freePort());
  const tlsPort = options.tlsPort ?? (await freePort());
  mkdirSync(options.dataDir, { recursive: true });
  mkdirSync(dirname(options.logFile), { recursive: true });
  await endLeftoverEngine(options.dataDir, options.warn);
  repairDataFile(options.dataDir, options.warn);
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(process.execPath, [main], {
    cwd: options.dataDir,
    env: {
      PATH: process.env.PATH ?? '',
      KINESIS_MOCK_CERT_PATH: join(dirname(main), 'server.json'),
      KINESIS_MOCK_PLAIN_PORT: String(plainPort),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      ...(options.region ? { AWS_REGION: options.region } : {}),
      SHOULD_PERSIST_DATA: 'true',
      LOAD_DATA_IF_EXISTS: 'true',
      PERSIST_PATH: options.dataDir,
      PERSIST_FILE_NAME: DATA_FILE,
      // kinesis-local does not write its data on SIGTERM; stop() waits for one periodic write instead.
      PERSIST_INTERVAL: `${PERSIST_INTERVAL_MS}ms`,
      CREATE_STREAM_DURATION: '0ms',
      DELETE_STREAM_DURATION: '0ms',
      UPDATE_SHARD_COUNT_DURATION: '0ms',
      LOG_LEVEL: 'WARN',
      ROOT_LOG_LEVEL: 'ERROR',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid) writeFileSync(join(options.dataDir, PID_FILE), String(child.pid));
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let exited = false;
  let exitCode: number | null = null;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      exitCode = code;
      resolve();
    }),
  );
  // An orphaned engine would keep its ports and data file; kill it if this process dies abruptly.
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);

  const endpoint = `http://127.0.0.1:${plainPort}`;
  const client = kinesisClient(endpoint, options.region ?? 'us-east-1');
  const dataFile = join(options.dataDir, DATA_FILE);
  const snapshotFile = join(options.dataDir, SNAPSHOT_FILE);
  // Waits for a complete write of the data file that began after this call, so everything
  // accepted before stop() is on disk, and returns that file's text. "Complete" is checked by
  // parsing it: on a loaded machine a write can stall mid-way, and a pause in its size is not an end.
  const persisted = async (): Promise<string | undefined> => {
    const since = Date.now();
    const deadline = since + PERSIST_WAIT_MS;
    let last = '';
    let stableSince = 0;
    while (Date.now() < deadline && !exited) {
      try {
        const st = statSync(dataFile);
        if (st.mtimeMs > since + 5) {
          const now = `${st.mtimeMs}:${st.size}`;
          if (now !== last) {
            last = now;
            stableSince = Date.now();
          } else if (Date.now() - stableSince >= 75) {
            const complete = readJson(dataFile);
            if (complete !== undefined) return complete;
            last = '';
          }
        }
      } catch {
        // not written yet
      }
      await sleep(15);
    }
    return undefined;
  };
  const stop = async () => {
    process.removeListener('exit', onExit);
    client.destroy();
    if (!exited) {
      const complete = await persisted();
      if (complete !== undefined) {
        // Kept as a verified copy: the kill below may still land in the middle of the next periodic write.
        writeFileSync(`${snapshotFile}.tmp`, complete);
        renameSync(`${snapshotFile}.tmp`, snapshotFile);
      } else {
        options.warn?.(
          `kinesis-local finished no data write within ${PERSIST_WAIT_MS / 1000} s of stop: records accepted since its last write are not kept`,
        );
      }
      // SIGTERM would not make it write its data either, and shutting down gracefully takes seconds under load.
      child.kill('SIGKILL');
      await exitedPromise;
    }
    rmSync(join(options.dataDir, PID_FILE), { force: true });
    log.end();
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited) {
        const tail = existsSync(options.logFile) ? readFileSync(options.logFile, 'utf8').split('\n').filter((l) => !/^\s+at /.test(l)).slice(-5).join('\n') : '';
        throw new Error(`kinesis-local exited during start-up (code ${exitCode}); see ${options.logFile}\n${tail}`);
      }
      try {
        await client.send(new ListStreamsCommand({}));
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`kinesis-local not healthy after 30 s: ${String(error)}`);
        await sleep(100);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, plainPort, tlsPort, pid: child.pid ?? -1, stop };
}
