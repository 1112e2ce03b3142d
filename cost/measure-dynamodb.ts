/**
 * Measures the DynamoDB capacity units the processors consume per event: each
 * family's real bundle over generated events (batches as the mapping makes
 * them, on the environment's shard count) against dynalite, through a proxy
 * that asks every request for `ReturnConsumedCapacity: TOTAL` and adds up
 * what dynalite reports (it sizes items by DynamoDB's rules: reads in 4 KB
 * units, strongly consistent; writes in 1 KB units). Run by
 * `npm run cost -- --measure`; the result is committed as cost/measured.json,
 * the input the estimate uses.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { startAlertSink } from '../local/alert-sink.js';
import { createTable, startDynamo } from '../local/engines/dynamodb.js';
import { dynamoClient } from '../local/aws.js';
import { readBody } from '../local/request-body.js';
import { batches, lambdaContext, toRecords } from '../tools/bench/kinesis-events.js';
import { createGenerator, FAMILIES } from '../tools/generators/families.js';
import type { FamilyUnits, MeasuredUnits } from './model.js';

type Handler = (event: KinesisStreamEvent, context: unknown) => Promise<KinesisStreamBatchResponse | void>;

const root = resolve(import.meta.dirname, '..');

interface Capacity {
  readUnits: number;
  writeUnits: number;
  requests: Record<string, number>;
}


const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);

/** An HTTP proxy that turns on ReturnConsumedCapacity and sums the units of every answer. */
async function startCapacityProxy(target: string): Promise<{ url: string; capacity: Capacity; close(): Promise<void> }> {
  const capacity: Capacity = { readUnits: 0, writeUnits: 0, requests: {} };
  const to = new URL(target);
  const server = createServer(async (req, res) => {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? 'unknown';
    capacity.requests[operation] = (capacity.requests[operation] ?? 0) + 1;
    const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Record<string, unknown>;
    body.ReturnConsumedCapacity = 'TOTAL';
    const text = JSON.stringify(body);
    const headers = { ...req.headers, host: to.host, 'content-length': String(Buffer.byteLength(text)) };
    const forward = httpRequest({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers }, async (upstream) => {
      const answer = await readBody(upstream);
      try {
        const parsed = JSON.parse(answer.toString('utf8')) as { ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> };
        const consumed = [parsed.ConsumedCapacity ?? []].flat().reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        if (READS.has(operation)) capacity.readUnits += consumed;
        else capacity.writeUnits += consumed;
      } catch {
        // Not JSON (an engine error page): nothing consumed.
      }
      res.writeHead(upstream.statusCode ?? 500, upstream.headers);
      res.end(answer);
    });
    forward.on('error', () => {
      res.writeHead(500);
      res.end();
    });
    forward.end(text);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    capacity,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

export interface MeasureOptions {
  readonly events: number;
  /** Records per invocation to measure at (coalescing makes units per event fall as batches grow). */
  readonly batchSizes: readonly number[];
  readonly shards: number;
  readonly seed: number;
}

/** Units per event of every family's bundle (dist/handlers/<family>/index.mjs, from `npm run build`). */
export async function measureDynamoUnits(options: MeasureOptions): Promise<MeasuredUnits> {
  const dynamo = await startDynamo();
  const proxy = await startCapacityProxy(dynamo.endpoint);
  const sink = await startAlertSink();
  const admin = dynamoClient(dynamo.endpoint, 'us-east-1');
  const byBatchSize: Record<string, Record<string, FamilyUnits>> = {};
  let run = 0;
  try {
    for (const batchSize of options.batchSizes) {
      const perFamily: Record<string, FamilyUnits> = {};
      for (const family of FAMILIES) {
        const table = `measure-${family.name}-${batchSize}`;
        await createTable(admin, table);
        Object.assign(process.env, {
          TABLE_NAME: table,
          EVENT_BUS_NAME: 'measure-alerts',
          FAMILY_NAME: family.name,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          AWS_ENDPOINT_URL_DYNAMODB: proxy.url,
          AWS_ENDPOINT_URL_EVENTBRIDGE: sink.endpoint,
          POWERTOOLS_SERVICE_NAME: family.name,
          POWERTOOLS_METRICS_NAMESPACE: 'measure',
          POWERTOOLS_METRICS_DISABLED: 'true',
          POWERTOOLS_LOG_LEVEL: 'ERROR',
        });
        // A fresh module per run: the bundle reads TABLE_NAME once, when it is loaded.
        const bundle = join(root, 'dist', 'handlers', family.name, 'index.mjs');
        const { handler } = (await import(`${pathToFileURL(bundle).href}?measure=${++run}`)) as { handler: Handler };
        const generator = createGenerator(family.name, { seed: options.seed, epochMs: Date.parse('2026-11-23T10:00:00Z'), idPrefix: `measure-${options.seed}` });
        const bodies = Array.from({ length: options.events }, () => generator.next());
        const before = { readUnits: proxy.capacity.readUnits, writeUnits: proxy.capacity.writeUnits, requests: { ...proxy.capacity.requests } };
        sink.clear();
        for (const event of batches(toRecords(family, bodies, options.shards), batchSize)) {
          const result = (await handler(event, lambdaContext(family.name))) ?? { batchItemFailures: [] };
          if ((result.batchItemFailures ?? []).length > 0) throw new Error(`${family.name}: a measured batch reported failures`);
        }
        const requests = Object.fromEntries(
          Object.entries(proxy.capacity.requests)
            .map(([op, n]) => [op, n - (before.requests[op] ?? 0)] as const)
            .filter(([, n]) => n > 0),
        );
        perFamily[family.name] = {
          readUnitsPerEvent: round((proxy.capacity.readUnits - before.readUnits) / options.events),
          writeUnitsPerEvent: round((proxy.capacity.writeUnits - before.writeUnits) / options.events),
          requestsPerEvent: round(Object.values(requests).reduce((a, b) => a + b, 0) / options.events),
          alertsPerEvent: round(sink.entries.length / options.events),
          requests,
        };
      }
      byBatchSize[String(batchSize)] = perFamily;
    }
  } finally {
    admin.destroy();
    await Promise.allSettled([proxy.close(), sink.stop()]);
    await dynamo.stop();
  }
  return { measuredAt: new Date().toISOString(), events: options.events, shards: options.shards, seed: options.seed, byBatchSize };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
