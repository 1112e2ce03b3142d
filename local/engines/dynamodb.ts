/** dynalite in-process, on 127.0.0.1, with a LevelDB store under the state directory. */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { freePort } from '../ports.js';

export interface DynamoEngine {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
type Dynalite = (options: Record<string, unknown>) => Server;

export async function startDynamo(options: { dataDir: string; port?: number }): Promise<DynamoEngine> {
  mkdirSync(options.dataDir, { recursive: true });
  const dynalite = require('dynalite') as Dynalite;
  const server = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = options.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        // dynalite closes its LevelDB store on the server's close event, which flushes it.
        server.close(() => resolve());
      }),
  };
}
