/**
 * In-process engines for the processor benchmarks: local mode's dynalite (in
 * memory) behind a request counter. Requests are counted where they arrive, at
 * the server, so the bundled processor (which carries its own SDK copy) and the
 * baseline are counted alike. The alert sink is local mode's (local/alert-sink.ts).
 */
import http from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startDynamo } from '../../local/engines/dynamodb.js';

export { createTable } from '../../local/engines/dynamodb.js';

export const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const REGION = 'us-east-1';

export interface CountingDynamo {
  endpoint: string;
  /** Requests per operation since the last reset. */
  counts: Map<string, number>;
  total(): number;
  reset(): void;
  client(): DynamoDBClient;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<CountingDynamo> {
  const counts = new Map<string, number>();
  // Seen as the request arrives, before dynalite runs it, so every request is counted once.
  const engine = await startDynamo({
    onRequest: (target) => {
      const op = String(target ?? 'unknown').split('.').pop()!;
      counts.set(op, (counts.get(op) ?? 0) + 1);
    },
  });
  const { endpoint } = engine;
  const clients: DynamoDBClient[] = [];
  return {
    endpoint,
    counts,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => counts.clear(),
    client: () => {
      const c = new DynamoDBClient({
        endpoint,
        region: REGION,
        credentials: CREDENTIALS,
        requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }) }),
        maxAttempts: 10,
      });
      clients.push(c);
      return c;
    },
    close: async () => {
      for (const c of clients) c.destroy();
      await engine.stop();
    },
  };
}

export { scanTable as scanAll } from '../../local/aws.js';
