/**
 * In-process dynalite (the local DynamoDB engine, local/engines/dynamodb.ts,
 * in memory) on a free port, driven through the real AWS SDK v3. Test-only:
 * never imported by a handler.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { scanTable } from '../../local/aws.js';
import { createTable, startDynamo } from '../../local/engines/dynamodb.js';
import { fromAttributeMap, type Item } from '../../handlers/runtime/attributes.js';

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
  const engine = await startDynamo();
  const url = engine.endpoint;
  const client = new DynamoDBClient({ endpoint: url, region: TEST_REGION, credentials: TEST_CREDENTIALS });
  return {
    url,
    client,
    createTable: (name) => createTable(client, name),
    async scan(table) {
      const items: Item[] = (await scanTable(client, table, true)).map(fromAttributeMap);
      return items.sort((a, b) => (`${a.pk}\u0000${a.sk}` < `${b.pk}\u0000${b.sk}` ? -1 : 1));
    },
    async close() {
      client.destroy();
      await engine.stop();
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
