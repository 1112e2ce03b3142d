/**
 * In-process dynalite (the local DynamoDB engine) on a free port, driven
 * through the real AWS SDK v3. Test-only: never imported by a handler.
 */
import { CreateTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fromAttributeMap, type Item } from '../runtime/attributes.js';

const require = createRequire(import.meta.url);
// dynalite ships no types: it is a function returning a node http.Server.
const dynalite = require('dynalite') as (options: Record<string, unknown>) => import('node:http').Server;

export const TEST_REGION = 'us-east-1';
export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface Dynalite {
  url: string;
  client: DynamoDBClient;
  createTable(name: string): Promise<void>;
  /** Every item of a table, sorted by key, as plain JSON. */
  scan(table: string): Promise<Item[]>;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<Dynalite> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint: url, region: TEST_REGION, credentials: TEST_CREDENTIALS });
  return {
    url,
    client,
    async createTable(name) {
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
    },
    async scan(table) {
      const items: Item[] = [];
      let start: Record<string, any> | undefined;
      do {
        const out = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
        for (const raw of out.Items ?? []) items.push(fromAttributeMap(raw));
        start = out.LastEvaluatedKey;
      } while (start);
      return items.sort((a, b) => (`${a.pk}\u0000${a.sk}` < `${b.pk}\u0000${b.sk}` ? -1 : 1));
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
}

/** Items without what legitimately differs between two runs (write time). */
export function comparable(items: Item[]): Item[] {
  return items.map((item) => {
    const { updated_at: _u, claimed_at: _c, expiresAt, ...rest } = item;
    // Claim expiry is relative to processing time; day-bucket expiry is not.
    return String(item.pk).includes('#claim#') ? rest : { ...rest, ...(expiresAt !== undefined ? { expiresAt } : {}) };
  });
}
