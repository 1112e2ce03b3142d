/** dynalite in-process, on 127.0.0.1, with a LevelDB store under the state directory. */
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../ports.js';

export interface DynamoEngine {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
type Dynalite = (options: Record<string, unknown>) => Server;
type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** How long a stop waits for requests dynalite is still working on. */
const DRAIN_MS = 2_000;

export async function startDynamo(options: { dataDir: string; port?: number }): Promise<DynamoEngine> {
  mkdirSync(options.dataDir, { recursive: true });
  const dynalite = require('dynalite') as Dynalite;
  const server = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

  // dynalite closes its LevelDB store when the server closes; an operation still running then fails
  // with "Database is closed" from a callback and takes the whole process down. A client that went
  // away (a sandbox terminated mid-request) does not stop that operation, so "done" is when dynalite
  // itself ends the response, not when the socket closes.
  let working = 0;
  const [dynaliteListener] = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
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
