import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { fromAttributeMap, toAttributeMap, type Item } from './attributes.js';
import { UnprocessedError } from './errors.js';

export interface Key {
  pk: string;
  sk: string;
}

export const keyId = (key: Key) => `${key.pk}\u0000${key.sk}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const BATCH_GET_LIMIT = 100;
const BATCH_WRITE_LIMIT = 25;
const UNPROCESSED_ATTEMPTS = 5;


/** Consistent reads of many keys: one request per 100 keys, unprocessed keys retried with backoff. */
export async function batchGet(client: DynamoDBClient, table: string, keys: readonly Key[]): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
    let request: Record<string, AttributeValue>[] = keys.slice(start, start + BATCH_GET_LIMIT).map((k) => ({ pk: { S: k.pk }, sk: { S: k.sk } }));
    for (let attempt = 0; request.length > 0; attempt++) {
      if (attempt >= UNPROCESSED_ATTEMPTS) throw new UnprocessedError(`${request.length} keys left unprocessed by BatchGetItem`);
      if (attempt > 0) await sleep(25 * 2 ** attempt);
      const out = await client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: request, ConsistentRead: true } } }));
      for (const raw of out.Responses?.[table] ?? []) {
        const item = fromAttributeMap(raw);
        found.set(keyId(item as unknown as Key), item);
      }
      request = out.UnprocessedKeys?.[table]?.Keys ?? [];
    }
  }
  return found;
}

export async function getItem(client: DynamoDBClient, table: string, key: Key): Promise<Item | undefined> {
  const out = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key.pk }, sk: { S: key.sk } }, ConsistentRead: true }));
  return out.Item ? fromAttributeMap(out.Item) : undefined;
}

/**
 * Writes a whole item if nobody changed it since it was read: a new item must
 * still be absent, an existing one must still have the version it was read at.
 * Returns false on a lost race (the caller re-reads and recomputes).
 */
export async function putIfUnchanged(client: DynamoDBClient, table: string, item: Item, readVersion: number | undefined): Promise<boolean> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: toAttributeMap(item),
        ...(readVersion === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : { ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': 'v' }, ExpressionAttributeValues: { ':v': { N: String(readVersion) } } }),
      }),
    );
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/** Unconditional puts, 25 per request; returns the items that could not be written. */
export async function batchPut(client: DynamoDBClient, table: string, items: readonly Item[]): Promise<{ failed: Item[]; error?: unknown }> {
  const failed: Item[] = [];
  let lastError: unknown;
  for (let start = 0; start < items.length; start += BATCH_WRITE_LIMIT) {
    const chunk = items.slice(start, start + BATCH_WRITE_LIMIT);
    let pending: WriteRequest[] = chunk.map((item) => ({ PutRequest: { Item: toAttributeMap(item) } }));
    try {
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= UNPROCESSED_ATTEMPTS) throw new UnprocessedError(`${pending.length} items left unprocessed by BatchWriteItem`);
        if (attempt > 0) await sleep(25 * 2 ** attempt);
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
        pending = out.UnprocessedItems?.[table] ?? [];
      }
    } catch (error) {
      lastError = error;
      const left = new Set(pending.map((w) => keyId(fromAttributeMap(w.PutRequest!.Item!) as unknown as Key)));
      for (const item of chunk) if (left.has(keyId(item as unknown as Key))) failed.push(item);
    }
  }
  return lastError === undefined ? { failed } : { failed, error: lastError };
}
