/**
 * The memory store bills requests as DynamoDB does (bench part 3b). dynalite
 * implements DynamoDB's capacity rules when asked (ReturnConsumedCapacity), so
 * the same requests are sent to both and the units compared.
 */
import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS, REGION, createTable, startDynalite, type CountingDynamo } from './engines.js';
import { itemSize, startMemoryStore, type MemoryStore } from './memory-store.js';

let dynalite: CountingDynamo;
let store: MemoryStore;
let real: DynamoDBClient;
let memory: DynamoDBClient;
const TABLE = 'capacity';

beforeAll(async () => {
  dynalite = await startDynalite();
  store = await startMemoryStore();
  real = dynalite.client();
  await createTable(real, TABLE);
  memory = new DynamoDBClient({ endpoint: store.endpoint, region: REGION, credentials: CREDENTIALS });
});
afterAll(async () => {
  memory?.destroy();
  await store?.stop();
  await dynalite?.close();
});

const key = (id: string) => ({ pk: { S: id }, sk: { S: 'aggregate' } });
/** An item of roughly `bytes` bytes, with numbers, maps and lists like the processors' aggregates. */
const item = (id: string, bytes: number): Record<string, AttributeValue> => ({
  ...key(id),
  v: { N: '12' },
  score: { N: '-0.0125' },
  big: { N: '123456789012345678' },
  days: { M: { '2026-12-01': { M: { sessions: { N: '3' }, ib_calls: { N: '10' } } } } },
  tags: { L: [{ S: 'a' }, { BOOL: true }, { NULL: true }] },
  pad: { S: 'x'.repeat(Math.max(0, bytes - 150)) },
});

/** Units dynalite reports for a request, and the units the memory store charges for the same request. */
async function both(make: (withCapacity: boolean) => { input: object; command: 'get' | 'put' | 'batchGet' | 'batchWrite' }) {
  const send = async (client: DynamoDBClient, withCapacity: boolean) => {
    const { input, command } = make(withCapacity);
    const extra = withCapacity ? { ReturnConsumedCapacity: 'TOTAL' as const } : {};
    switch (command) {
      case 'get':
        return client.send(new GetItemCommand({ ...(input as Record<string, unknown>), ...extra } as never));
      case 'put':
        return client.send(new PutItemCommand({ ...(input as Record<string, unknown>), ...extra } as never));
      case 'batchGet':
        return client.send(new BatchGetItemCommand({ ...(input as Record<string, unknown>), ...extra } as never));
      case 'batchWrite':
        return client.send(new BatchWriteItemCommand({ ...(input as Record<string, unknown>), ...extra } as never));
    }
  };
  const out = (await send(real, true)) as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] };
  const consumed = [out.ConsumedCapacity ?? []].flat().reduce((a, c) => a + (c.CapacityUnits ?? 0), 0);
  store.reset();
  await send(memory, false);
  return { dynalite: consumed, memory: store.capacity.readUnits + store.capacity.writeUnits };
}

describe('the memory store charges what dynalite reports', () => {
  it.each([
    ['a new item under 1 KB', 'small', 600],
    ['a new item of 2.5 KB', 'mid', 2_500],
    ['a new item of 9 KB', 'large', 9_000],
  ])('PutItem of %s', async (_, id, bytes) => {
    const units = await both(() => ({ command: 'put', input: { TableName: TABLE, Item: item(id, bytes) } }));
    expect(units.memory).toBe(units.dynalite);
    expect(units.memory).toBe(Math.ceil(itemSize(item(id, bytes)) / 1024));
  });

  it('PutItem that shrinks an item: the larger of before and after', async () => {
    const units = await both(() => ({ command: 'put', input: { TableName: TABLE, Item: item('large', 300) } }));
    expect(units.memory).toBe(units.dynalite);
    expect(units.memory).toBeGreaterThan(1);
  });

  it.each([
    ['consistent, existing', 'mid', true],
    ['eventually consistent, existing', 'mid', false],
    ['consistent, absent', 'nobody', true],
    ['eventually consistent, absent', 'nobody', false],
  ])('GetItem %s', async (_, id, consistent) => {
    const units = await both(() => ({ command: 'get', input: { TableName: TABLE, Key: key(id), ConsistentRead: consistent } }));
    expect(units.memory).toBe(units.dynalite);
  });

  it('BatchGetItem: each item as its own read, absent ones included', async () => {
    const keys = ['small', 'mid', 'large', 'nobody', 'nobody-else'].map(key);
    const units = await both(() => ({ command: 'batchGet', input: { RequestItems: { [TABLE]: { Keys: keys, ConsistentRead: true } } } }));
    expect(units.memory).toBe(units.dynalite);
  });

  it('BatchWriteItem: each put as its own write', async () => {
    const units = await both(() => ({
      command: 'batchWrite',
      input: { RequestItems: { [TABLE]: [{ PutRequest: { Item: item('w1', 100) } }, { PutRequest: { Item: item('w2', 3_000) } }, { PutRequest: { Item: item('mid', 100) } }] } },
    }));
    expect(units.memory).toBe(units.dynalite);
  });
});
