/**
 * Part 1b: what limits ingest locally. A standalone kinesis-local (the same
 * engine local mode runs), driven directly with PutRecords, in rounds, so the
 * slowdown as the stream fills and the cost of persisting show as numbers
 * rather than as a guess. kinesis-local persists by rewriting its whole data
 * file every interval, so the cost of a write grows with the stream: the
 * probe runs it writing every 500 ms, every 5 s (local mode's interval,
 * local/engines/kinesis.ts) and not at all.
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
import { PERSIST_INTERVAL_MS as LOCAL_MODE_PERSIST_INTERVAL_MS } from '../../local/engines/kinesis.js';
import { freePort } from '../../local/ports.js';
import { partitionKeyOf } from './kinesis-events.js';
import type { PartResult, Row } from './report.js';

const require = createRequire(import.meta.url);

/** How often the engine rewrites its data file; `undefined`: never. */
type PersistInterval = number | undefined;

async function probe(persistMs: PersistInterval, rounds: number, perRound: number): Promise<number[]> {
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
      SHOULD_PERSIST_DATA: String(persistMs !== undefined),
      PERSIST_PATH: dir,
      PERSIST_INTERVAL: `${persistMs ?? 500}ms`,
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
  const variants: [string, PersistInterval][] = [
    [`data file rewritten every ${LOCAL_MODE_PERSIST_INTERVAL_MS / 1000} s (local mode)`, LOCAL_MODE_PERSIST_INTERVAL_MS],
    ['data file rewritten every 0.5 s', 500],
    ['persistence off', undefined],
  ];
  for (const [label, persistMs] of variants) {
    const rates = await probe(persistMs, rounds, perRound);
    data[persistMs === undefined ? 'persistOff' : `persistEvery${persistMs}ms`] = rates;
    rows.push({
      part: '1b kinesis-local',
      measure: `PutRecords (100) direct, concurrency 1, ${label}: events/s per ${perRound.toLocaleString('en-US')} records as the stream fills`,
      ours: rates.map((r) => Math.round(r)).join(' → '),
      baseline: '—',
      ratio: `${(rates[rates.length - 1]! / rates[0]!).toFixed(2)}× first→last`,
      notes: `standalone engine, 2 shards, ${(rounds * perRound).toLocaleString('en-US')} records of ~1 KB`,
    });
  }
  return { rows, data };
}
