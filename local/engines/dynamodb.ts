/**
 * dynalite in-process, on 127.0.0.1: with a LevelDB store under the state directory (local mode), or
 * in memory (tests, benchmarks). Also the one definition of the event table's layout.
 */
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { CreateTableCommand, DescribeTableCommand, ResourceInUseException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { freePort, listenLocal, sleep, waitUntil } from '../ports.js';

export interface DynamoEngine {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface DynamoOptions {
  /** LevelDB store here; in memory when absent. */
  readonly dataDir?: string;
  readonly port?: number;
  /** Called once per request as it arrives, with its `X-Amz-Target` header (e.g. to count operations). */
  readonly onRequest?: (target: string | undefined) => void;
}

const require = createRequire(import.meta.url);
type Dynalite = (options: Record<string, unknown>) => Server;
type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** How long a stop waits for requests dynalite is still working on. */
const DRAIN_MS = 2_000;

export async function startDynamo(options: DynamoOptions = {}): Promise<DynamoEngine> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const dynalite = require('dynalite') as Dynalite;
  const server = dynalite({ ...(options.dataDir ? { path: options.dataDir } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

  // dynalite closes its LevelDB store when the server closes; an operation still running then fails
  // with "Database is closed" from a callback and takes the whole process down. A client that went
  // away (a sandbox terminated mid-request) does not stop that operation, so "done" is when dynalite
  // itself ends the response, not when the socket closes.
  let working = 0;
  const [dynaliteListener] = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    options.onRequest?.(req.headers['x-amz-target'] as string | undefined);
    working++;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    let ended = false;
    res.end = ((...args: unknown[]) => {
      if (!ended) {
        ended = true;
        working--;
      }
      return end(...args);
    }) as ServerResponse['end'];
    dynaliteListener!(req, res);
  });

  const port = options.port ?? (await freePort());
  await listenLocal(server, port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const deadline = Date.now() + DRAIN_MS; working > 0 && Date.now() < deadline; ) await sleep(10);
      server.closeAllConnections?.();
      await closed;
    },
  };
}

/**
 * Creates the table every processor writes to (string `pk` / `sk`, on demand; ARCHITECTURE.md 5, the
 * processors' contract) unless it exists, and waits until it is ACTIVE.
 */
export async function createTable(client: DynamoDBClient, name: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  // dynalite has no UpdateTimeToLive: the TTL attribute is written but items do not expire locally.
  await waitUntil(
    async () => (await client.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus === 'ACTIVE',
    `table ${name}`,
  );
}
