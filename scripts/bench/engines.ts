/**
 * In-process engines for the processor benchmarks: dynalite (the local
 * DynamoDB) behind a request counter, and an EventBridge-compatible alert sink.
 * Requests are counted where they arrive, at the server, so the bundled
 * processor (which carries its own SDK copy) and the baseline are counted alike.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { CreateTableCommand, DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: Record<string, unknown>) => http.Server;

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
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const counts = new Map<string, number>();
  // Registered before dynalite's own handler runs the request, so every request is seen once.
  server.prependListener('request', (req: http.IncomingMessage) => {
    const op = String(req.headers['x-amz-target'] ?? 'unknown').split('.').pop()!;
    counts.set(op, (counts.get(op) ?? 0) + 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The table layout every processor writes to: string `pk` / `sk` (DESIGN.md, processors' contract). */
export async function createTable(client: DynamoDBClient, name: string): Promise<void> {
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
}

export async function scanAll(client: DynamoDBClient, table: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

export interface AlertSink {
  endpoint: string;
  entries: { Source?: string; DetailType?: string; Detail?: string; EventBusName?: string }[];
  requests: number;
  close(): Promise<void>;
}

/** Answers EventBridge `PutEvents` (JSON 1.1 protocol) and keeps the entries. */
export async function startAlertSink(): Promise<AlertSink> {
  const sink: AlertSink = { endpoint: '', entries: [], requests: 0, close: async () => {} };
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      sink.requests += 1;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { Entries?: AlertSink['entries'] };
      const entries = body.Entries ?? [];
      sink.entries.push(...entries);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: `evt-${++n}` })) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.close = async () => {
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return sink;
}
