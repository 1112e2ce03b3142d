/**
 * Everything a handler test needs, all real: dynalite behind a counting and
 * fault-injecting HTTP proxy, an EventBridge PutEvents endpoint (local mode's
 * alert sink, with its fault hooks), and the processor environment pointing at
 * them (the same variables local mode sets).
 * Test-only.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startAlertSink, type AlertSink } from '../../local/alert-sink.js';
import { comparable, startDynalite, TEST_REGION, type Dynalite } from './dynalite.js';
import { startCountingProxy, type CountingProxy } from './http-proxy.js';
import type { Item } from '../../handlers/runtime/attributes.js';

/**
 * One harness for the calling test file: started before its tests, closed
 * after them, with a fresh table before each test. Returns its accessor.
 */
export function useHarness(): () => Harness {
  let harness: Harness | undefined;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });
  beforeEach(async () => {
    await harness!.freshTable();
  });
  return () => harness!;
}

export interface Harness {
  db: Dynalite;
  proxy: CountingProxy;
  sink: AlertSink;
  /** Creates a new empty table, points TABLE_NAME at it, resets counters and the sink. */
  freshTable(): Promise<string>;
  scan(table?: string): Promise<Item[]>;
  /** JSON lines (Powertools logs and EMF metrics) written to stdout since the last call. */
  takeOutput(): any[];
  close(): Promise<void>;
}

export const BUS = 'event-flow-test-alerts';

export async function startHarness(): Promise<Harness> {
  const db = await startDynalite();
  const proxy = await startCountingProxy(db.url);
  const sink = await startAlertSink();
  Object.assign(process.env, {
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: proxy.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: sink.endpoint,
    // Keeps injected-failure tests quick; the SDK default is 3.
    AWS_MAX_ATTEMPTS: '2',
    EVENT_BUS_NAME: BUS,
    POWERTOOLS_METRICS_NAMESPACE: 'event-flow-test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });

  // Powertools writes logs and EMF to stdout: keep them for assertions instead of the test output.
  const output: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.trimStart().startsWith('{')) {
      output.push(text);
      return true;
    }
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;

  // Outside Lambda, Powertools' logger writes through the global console instead.
  const consoleMethods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const originalConsole = Object.fromEntries(consoleMethods.map((m) => [m, console[m]]));
  for (const method of consoleMethods) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].trimStart().startsWith('{')) output.push(args[0]);
      else original(...args);
    };
  }

  let tables = 0;
  return {
    db,
    proxy,
    sink,
    async freshTable() {
      const name = `event-flow-test-${++tables}`;
      await db.createTable(name);
      process.env.TABLE_NAME = name;
      proxy.reset();
      proxy.setFault(undefined);
      sink.clear();
      sink.setEntryFault(undefined);
      output.length = 0;
      return name;
    },
    scan: (table) => db.scan(table ?? process.env.TABLE_NAME!),
    takeOutput() {
      const lines = output.splice(0).flatMap((chunk) => chunk.split('\n')).filter((l) => l.trim().startsWith('{'));
      return lines.map((l) => JSON.parse(l));
    },
    async close() {
      process.stdout.write = write;
      Object.assign(console, originalConsole);
      await Promise.allSettled([sink.stop(), proxy.close()]);
      await db.close();
    },
  };
}

/**
 * Effects only: drops the delivery bookkeeping that legitimately depends on how
 * a batch was delivered (how often an item was written: `v`; alerts waiting
 * or sent: `outbox` and the lanes' alert cursors). Exactly-once of the alerts
 * themselves is checked on what the EventBridge endpoint received.
 */
export function effects(items: Item[]): Item[] {
  return comparable(items.filter((item) => !String(item.pk).includes('#cursor#'))).map((item) => Object.fromEntries(Object.entries(item).filter(([k]) => k !== 'v' && k !== 'outbox')));
}

/** Alerts received by the sink, as their details. */
export const alertDetails = (sink: AlertSink) => sink.entries.map((e) => e.detail);
