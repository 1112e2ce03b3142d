/**
 * Part 1b: what limits ingest locally. A standalone kinesis-local (the same
 * engine local mode runs), driven directly with PutRecords, with its data
 * persistence on (as local mode runs it, to survive restarts) and off, in
 * rounds, so the slowdown as the shard fills and the cost of persisting show
 * as numbers rather than as a guess.
 */
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient, ListStreamsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { tutoring } from '../../handlers/tutoring/family.js';
import { createGenerator } from '../generators/families.js';
import { sleep } from '../generators/sender.js';
import { CREDENTIALS } from './engines.js';
import { partitionKeyOf } from './kinesis-events.js';
import type { PartResult, Row } from './report.js';

const require = createRequire(import.meta.url);

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function probe(persist: boolean, rounds: number, perRound: number): Promise<number[]> {
  const main = require.resolve('kinesis-local/main.js');
  const dir = mkdtempSync(join(tmpdir(), 'ef-kprobe-'));
  const [plain, tls] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [main], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      KINESIS_MOCK_CERT_PATH: join(dirname(main), 'server.json'),
      KINESIS_MOCK_PLAIN_PORT: String(plain),
      KINESIS_MOCK_TLS_PORT: String(tls),
      SHOULD_PERSIST_DATA: String(persist),
      PERSIST_PATH: dir,
      PERSIST_INTERVAL: '500ms',
      CREATE_STREAM_DURATION: '0ms',
      LOG_LEVEL: 'ERROR',
      ROOT_LOG_LEVEL: 'ERROR',
    },
    stdio: 'ignore',
  });
  const client = new KinesisClient({
    endpoint: `http://127.0.0.1:${plain}`,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true }) }),
  });
  try {
    for (let i = 0; ; i++) {
      try {
        await client.send(new ListStreamsCommand({}));
        break;
      } catch (error) {
        if (i > 300) throw error;
        await sleep(100);
      }
    }
    await client.send(new CreateStreamCommand({ StreamName: 'probe', ShardCount: 2 }));
    for (let i = 0; i < 100; i++) {
      const s = await client.send(new DescribeStreamSummaryCommand({ StreamName: 'probe' }));
      if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      await sleep(50);
    }
    const generator = createGenerator(tutoring.name, { seed: 5, epochMs: Date.now(), idPrefix: 'probe' });
    const rates: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const t0 = performance.now();
      for (let sent = 0; sent < perRound; sent += 100) {
        let records = Array.from({ length: 100 }, (_, i) => {
          const data = generator.next();
          const envelope = { id: `p-${round}-${sent + i}`, family: tutoring.name, key: data.event_id, receivedAt: Date.now(), sourceIp: '127.0.0.1', data };
          return { PartitionKey: partitionKeyOf(tutoring, data, envelope.id), Data: Buffer.from(JSON.stringify(envelope)) };
        });
        while (records.length > 0) {
          const out = await client.send(new PutRecordsCommand({ StreamName: 'probe', Records: records }));
          records = records.filter((_, i) => out.Records?.[i]?.ErrorCode);
        }
      }
      rates.push(perRound / ((performance.now() - t0) / 1000));
    }
    return rates;
  } finally {
    client.destroy();
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function kinesisProbe(options: { rounds?: number; perRound?: number } = {}): Promise<PartResult> {
  const rounds = options.rounds ?? 5;
  const perRound = options.perRound ?? 600;
  const rows: Row[] = [];
  const data: Record<string, number[]> = {};
  for (const persist of [true, false]) {
    const rates = await probe(persist, rounds, perRound);
    data[persist ? 'persistOn' : 'persistOff'] = rates;
    rows.push({
      part: '1b kinesis-local',
      measure: `PutRecords (100) direct, concurrency 1, persistence ${persist ? 'on (as local mode)' : 'off'}: events/s per ${perRound} records as the stream fills`,
      ours: rates.map((r) => Math.round(r)).join(' → '),
      baseline: '—',
      ratio: `${(rates[rates.length - 1]! / rates[0]!).toFixed(2)}× first→last`,
      notes: `standalone engine, 2 shards, ${rounds * perRound} records`,
    });
  }
  return { rows, data };
}
