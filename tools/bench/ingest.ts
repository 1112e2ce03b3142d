/**
 * Part 1: events/s accepted through the local API (single and batch routes,
 * concurrency 1 and 16) next to the same kinesis-local driven directly with the
 * SDK (PutRecord / PutRecords) with the same records. Each API run is followed by
 * its direct twin of the same size, so both streams fill at the same pace
 * (kinesis-local's PutRecords slows as a shard fills).
 */
import http from 'node:http';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient, PutRecordCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { tutoring } from '../../handlers/tutoring/family.js';
import { createGenerator, type Body } from '../generators/families.js';
import { Sender, sleep } from '../generators/sender.js';
import { eventSource } from '../generators/source.js';
import { percentile } from '../generators/stats.js';
import { CREDENTIALS } from './engines.js';
import { partitionKeyOf } from './kinesis-events.js';
import type { LocalHandle } from './local.js';
import { x, type PartResult, type Row } from './report.js';

interface Run {
  route: 'single' | 'batch';
  concurrency: number;
  events: number;
}

export const INGEST_RUNS: Run[] = [
  { route: 'single', concurrency: 1, events: 200 },
  { route: 'single', concurrency: 16, events: 400 },
  { route: 'batch', concurrency: 1, events: 1000 },
  { route: 'batch', concurrency: 16, events: 800 },
];

const BATCH = 100;

async function direct(client: KinesisClient, stream: string, bodies: Body[], run: Run): Promise<{ eps: number; p50: number }> {
  const records = bodies.map((data, i) => {
    const id = `direct-${i}`;
    const envelope = { id, family: tutoring.name, key: data.event_id ?? null, receivedAt: Date.now(), sourceIp: '127.0.0.1', data };
    return { PartitionKey: partitionKeyOf(tutoring, data, id), Data: Buffer.from(JSON.stringify(envelope)) };
  });
  const size = run.route === 'single' ? 1 : BATCH;
  const chunks: (typeof records)[] = [];
  for (let i = 0; i < records.length; i += size) chunks.push(records.slice(i, i + size));
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: run.concurrency }, async () => {
      for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
        let pending = chunk;
        for (let attempt = 0; pending.length > 0; attempt++) {
          const s = performance.now();
          if (size === 1) {
            await client.send(new PutRecordCommand({ StreamName: stream, ...pending[0]! }));
            pending = [];
          } else {
            const out = await client.send(new PutRecordsCommand({ StreamName: stream, Records: pending }));
            // Retry exactly the failed records, as the API's clients are told to.
            pending = pending.filter((_, i) => out.Records?.[i]?.ErrorCode);
            if (pending.length > 0) await sleep(Math.min(2000, 50 * 2 ** attempt));
          }
          latencies.push(performance.now() - s);
        }
      }
    }),
  );
  const ms = performance.now() - t0;
  return { eps: records.length / (ms / 1000), p50: percentile(latencies, 50) };
}

export async function ingest(local: LocalHandle): Promise<PartResult> {
  const family = local.deployment.families.find((f) => f.family.name === tutoring.name);
  if (!family) throw new Error('tutoring is not deployed in local mode');
  const client = new KinesisClient({
    endpoint: local.kinesisEndpoint,
    region: local.deployment.region,
    credentials: CREDENTIALS,
    // HTTP/1.1: kinesis-local drops 5-10 % of HTTP/2 calls (ARCHITECTURE.md, 9 toolchain facts).
    requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: 16 }) }),
  });
  const stream = `bench-direct-${Date.now().toString(36)}`;
  await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: family.stream.shardCount }));
  for (let i = 0; i < 100; i++) {
    const out = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (out.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
    await sleep(100);
  }
  const rows: Row[] = [];
  const data: unknown[] = [];
  try {
    for (const [index, run] of INGEST_RUNS.entries()) {
      const seed = 100 + index;
      const sender = new Sender({ url: local.apiUrl, apiKey: local.apiKey, concurrency: run.concurrency, batch: run.route === 'single' ? 1 : BATCH, rate: 0 });
      const api = await sender.run(
        eventSource({ families: [tutoring.name], seed, epochMs: Date.now(), idPrefix: `ing${index}`, malformed: 0, count: run.events }),
      );
      sender.close();
      const generator = createGenerator(tutoring.name, { seed, epochMs: Date.now(), idPrefix: `dir${index}` });
      const d = await direct(client, stream, Array.from({ length: run.events }, () => generator.next()), run);
      data.push({ run, api, direct: d });
      process.stderr.write(`  ingest ${run.route} c${run.concurrency}: API ${api.eventsPerSecond.toFixed(0)} ev/s, direct ${d.eps.toFixed(0)} ev/s\n`);
      const label = run.route === 'single' ? 'POST /events/tutoring vs PutRecord' : `POST /events/tutoring/batch (${BATCH}) vs PutRecords (${BATCH})`;
      rows.push({
        part: '1 ingest',
        measure: `${label}, concurrency ${run.concurrency}: events/s (${run.events.toLocaleString('en-US')} events)`,
        ours: Math.round(api.eventsPerSecond).toLocaleString('en-US'),
        baseline: Math.round(d.eps).toLocaleString('en-US'),
        ratio: `${x(d.eps / api.eventsPerSecond)} overhead`,
        notes: `request p50 ${api.latency.p50.toFixed(1)} vs ${d.p50.toFixed(1)} ms${api.rejected ? `; ${api.rejected} rejected` : ''}`,
      });
    }
  } finally {
    client.destroy();
  }
  return { rows, data };
}
