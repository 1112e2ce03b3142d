/**
 * An in-process stand-in for DynamoDB that answers from a Map, for two
 * benchmark questions a real engine blurs:
 * - how fast is our processor's own code (part 4): the store answers at once,
 *   over loopback HTTP in the same process, so the figure is the processor's
 *   CPU plus the SDK's client side, not a database's;
 * - what would DynamoDB bill (part 3): every request is charged as DynamoDB
 *   charges it (item sizes and capacity units, below), which dynalite does not
 *   report.
 * It speaks the subset of the DynamoDB JSON protocol the processors and the
 * naive baseline use (GetItem, BatchGetItem, PutItem with the two conditions
 * the runtime writes, BatchWriteItem); anything else is answered with a
 * ValidationException naming it, so a change in the runtime shows up here
 * instead of being silently mis-measured. Not a database: no tables, no
 * throttling, no limits.
 *
 * Billing (Amazon DynamoDB Developer Guide, "DynamoDB item sizes and formats"
 * and "Read/write capacity mode"): a read costs 1 read unit per 4 KB of the
 * item read, rounded up, when strongly consistent, half that when eventually
 * consistent, and at least that for an absent item; BatchGetItem charges each
 * item as its own GetItem. A write costs 1 write unit per 1 KB, rounded up, of
 * the larger of the item before and after (also when the condition fails);
 * BatchWriteItem charges each put as its own PutItem.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { listenLocal } from '../../local/ports.js';

type Item = Record<string, AttributeValue>;

/** Bytes DynamoDB counts for a value (names count separately, by their UTF-8 length). */
export function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return numberSize(v.N);
  // The JSON protocol carries binary as base64.
  if (v.B !== undefined) return Buffer.from(String(v.B), 'base64').length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.L !== undefined) return 3 + v.L.reduce((a, e) => a + 1 + valueSize(e), 0);
  if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((a, [k, e]) => a + 1 + Buffer.byteLength(k) + valueSize(e), 0);
  if (v.SS !== undefined) return v.SS.reduce((a, s) => a + Buffer.byteLength(s), 0);
  if (v.NS !== undefined) return v.NS.reduce((a, n) => a + numberSize(n), 0);
  return 0;
}

/**
 * "Numbers are variable length, with up to 38 significant digits ... approximately 1 byte per two
 * significant digits, plus 1 byte": exactly as dynalite counts them (memory-store.test.ts compares).
 */
function numberSize(n: string): number {
  const negative = n.trim().startsWith('-');
  const [mantissa = '', exponent = '0'] = n.trim().replace(/^[-+]/, '').toLowerCase().split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  const digits = `${whole}${fraction}`;
  const firstNonZero = digits.search(/[1-9]/);
  if (firstNonZero < 0) return 1;
  const significant = digits.slice(firstNonZero).replace(/0+$/, '');
  // Decimal exponent of the first significant digit (value = d.ddd × 10^e).
  const e = whole.length - 1 - firstNonZero + Number(exponent);
  return 1 + Math.ceil(significant.length / 2) + (significant.length % 2 || e % 2 ? 0 : 1) + (negative ? 1 : 0);
}

export const itemSize = (item: Item) => Object.entries(item).reduce((a, [k, v]) => a + Buffer.byteLength(k) + valueSize(v), 0);

export interface Capacity {
  readUnits: number;
  writeUnits: number;
  requests: Map<string, number>;
  /** Milliseconds the store spent answering (after the body arrived), to tell its share from the processor's. */
  busyMs: number;
}

export interface MemoryStore {
  endpoint: string;
  capacity: Capacity;
  /** Size in bytes of every item held. */
  sizes(): number[];
  /** Items held whose pk starts with the prefix, with their sizes. */
  sizesOf(prefix: string): number[];
  /** Delays every answer by this much, to count the round trips an invocation waits for one after another. @default 0 */
  setLatency(ms: number): void;
  /**
   * The longest chain of requests each sent after the previous one was answered, since the last reset:
   * a request's depth is 1 + the deepest request answered before it arrived. Meaningful with a latency
   * well above the client's CPU time between requests, so that requests sent together are not chained.
   */
  depth(): number;
  reset(): void;
  clear(): void;
  stop(): Promise<void>;
}

class ValidationError extends Error {
  override name = 'ValidationException';
}

export async function startMemoryStore(): Promise<MemoryStore> {
  const items = new Map<string, Item>();
  const capacity: Capacity = { readUnits: 0, writeUnits: 0, requests: new Map(), busyMs: 0 };
  const keyOf = (key: Item) => `${key.pk?.S}\u0000${key.sk?.S}`;
  const readUnits = (item: Item | undefined, consistent: boolean) => Math.max(1, Math.ceil((item ? itemSize(item) : 0) / 4096)) * (consistent ? 1 : 0.5);
  const writeUnits = (before: Item | undefined, after: Item) => Math.max(1, Math.ceil(Math.max(before ? itemSize(before) : 0, itemSize(after)) / 1024));

  const conditionHolds = (expr: string | undefined, current: Item | undefined, names: Record<string, string> = {}, values: Record<string, AttributeValue> = {}) => {
    if (expr === undefined) return true;
    if (expr === 'attribute_not_exists(pk)') return current === undefined;
    const eq = /^(#\w+) = (:\w+)$/.exec(expr);
    if (eq) {
      const name = names[eq[1]!]!;
      return current !== undefined && JSON.stringify(current[name]) === JSON.stringify(values[eq[2]!]);
    }
    throw new ValidationError(`the memory store does not evaluate the condition "${expr}"`);
  };

  const put = (request: { Item: Item; ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue> }) => {
    const id = keyOf(request.Item);
    const current = items.get(id);
    capacity.writeUnits += writeUnits(current, request.Item);
    if (!conditionHolds(request.ConditionExpression, current, request.ExpressionAttributeNames, request.ExpressionAttributeValues)) return false;
    items.set(id, request.Item);
    return true;
  };

  const operations: Record<string, (body: any) => unknown> = {
    GetItem(body) {
      const item = items.get(keyOf(body.Key));
      capacity.readUnits += readUnits(item, body.ConsistentRead === true);
      return item ? { Item: item } : {};
    },
    BatchGetItem(body) {
      const Responses: Record<string, Item[]> = {};
      for (const [table, request] of Object.entries(body.RequestItems as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>)) {
        Responses[table] = [];
        for (const key of request.Keys) {
          const item = items.get(keyOf(key));
          capacity.readUnits += readUnits(item, request.ConsistentRead === true);
          if (item) Responses[table].push(item);
        }
      }
      return { Responses, UnprocessedKeys: {} };
    },
    PutItem(body) {
      if (!put(body)) throw Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
      return {};
    },
    BatchWriteItem(body) {
      for (const requests of Object.values(body.RequestItems as Record<string, { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]>)) {
        for (const r of requests) {
          if (r.PutRequest) put({ Item: r.PutRequest.Item });
          else if (r.DeleteRequest) {
            const id = keyOf(r.DeleteRequest.Key);
            capacity.writeUnits += Math.max(1, Math.ceil((items.has(id) ? itemSize(items.get(id)!) : 0) / 1024));
            items.delete(id);
          }
        }
      }
      return { UnprocessedItems: {} };
    },
  };

  const respond = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  let latencyMs = 0;
  let deepestAnswered = 0;
  let deepest = 0;
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const t0 = performance.now();
      const depth = deepestAnswered + 1;
      deepest = Math.max(deepest, depth);
      const answerAt = (status: number, answer: unknown) => {
        deepestAnswered = Math.max(deepestAnswered, depth);
        respond(res, status, answer);
      };
      const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
      capacity.requests.set(op, (capacity.requests.get(op) ?? 0) + 1);
      let status = 200;
      let answer: unknown;
      try {
        const run = operations[op];
        if (!run) throw new ValidationError(`the memory store does not implement ${op || 'this request'}`);
        answer = run(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        const { name, message } = error as Error;
        status = 400;
        answer = { __type: `com.amazonaws.dynamodb.v20120810#${name}`, message };
      }
      if (latencyMs > 0) setTimeout(() => answerAt(status, answer), latencyMs);
      else answerAt(status, answer);
      capacity.busyMs += performance.now() - t0;
    });
  });
  server.keepAliveTimeout = 60_000;
  const port = await listenLocal(server, 0);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    capacity,
    sizes: () => [...items.values()].map(itemSize),
    sizesOf: (prefix) => [...items.values()].filter((i) => i.pk?.S?.startsWith(prefix)).map(itemSize),
    depth: () => deepest,
    setLatency: (ms) => {
      latencyMs = ms;
    },
    reset: () => {
      capacity.readUnits = 0;
      capacity.writeUnits = 0;
      capacity.busyMs = 0;
      capacity.requests.clear();
      deepestAnswered = 0;
      deepest = 0;
    },
    clear: () => items.clear(),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
