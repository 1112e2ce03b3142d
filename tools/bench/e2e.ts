/**
 * Part 2: a mixed load of every family through the local API, timed from each
 * event's 202 to the moment its batch is done in the table. "Done" is read
 * from the event source mappings' checkpoints, which advance only after the
 * handler returned success for the batch (its writes are in DynamoDB);
 * sampled every 100 ms, which bounds the latency resolution.
 */
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { FAMILIES } from '../generators/families.js';
import { Sender, sleep, type LogEntry } from '../generators/sender.js';
import { eventSource } from '../generators/source.js';
import { percentile } from '../generators/stats.js';
import { CREDENTIALS } from './engines.js';
import { readCheckpoints, seqGte, type LocalHandle } from './local.js';
import type { PartResult } from './report.js';

export async function endToEnd(local: LocalHandle, stateDir: string, options: { events?: number; timeoutMs?: number } = {}): Promise<PartResult> {
  const n = options.events ?? 10_000;
  const streamOf = new Map(local.deployment.families.map((f) => [f.family.name, f.stream.name]));
  const accepted: LogEntry[] = [];
  // Pending events per checkpoint key, so each poll only walks what is still open. Filled as the 202s
  // arrive, and polled while sending, so an effect is timed when it happens, not after the send ends.
  const pending = new Map<string, LogEntry[]>();
  const onEntry = (e: LogEntry) => {
    if (!e.accepted) return;
    accepted.push(e);
    const key = `${streamOf.get(e.family)}/${e.shardId}`;
    (pending.get(key) ?? pending.set(key, []).get(key)!).push(e);
  };
  const sender = new Sender({ url: local.apiUrl, apiKey: local.apiKey, concurrency: 2, batch: 100, rate: 0, onEntry });
  const t0 = Date.now();
  let sending = true;
  let sentDone = 0;
  const sent = sender
    .run(eventSource({ families: FAMILIES.map((f) => f.name), seed: 2024, epochMs: Date.now(), idPrefix: 'e2e', malformed: 0, count: n }))
    .finally(() => {
      sending = false;
      sentDone = Date.now();
      sender.close();
    });

  const latencies: number[] = [];
  let lastEffect = 0;
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  const open = () => [...pending.values()].reduce((a, l) => a + l.length, 0);
  while ((sending || open() > 0) && Date.now() < deadline) {
    const now = Date.now();
    const checkpoints = readCheckpoints(stateDir);
    for (const [key, list] of pending) {
      const cp = checkpoints.get(key);
      if (!cp) continue;
      pending.set(
        key,
        list.filter((e) => {
          if (!seqGte(cp, e.sequenceNumber!)) return true;
          latencies.push(now - e.at);
          lastEffect = now;
          return false;
        }),
      );
    }
    await sleep(100);
  }
  const summary = await sent;

  // Cross-check in the table itself: every accepted event left its idempotency claim.
  const dynamo = new DynamoDBClient({ endpoint: local.dynamoEndpoint, region: local.deployment.region, credentials: CREDENTIALS });
  let claims = 0;
  const claimsOnly = { TableName: local.deployment.tableName, FilterExpression: 'sk = :c', ExpressionAttributeValues: { ':c': { S: 'claim' } }, Select: 'COUNT' } as const;
  for await (const page of paginateScan({ client: dynamo }, claimsOnly)) claims += page.Count ?? 0;
  dynamo.destroy();

  const wall = (lastEffect - t0) / 1000;
  const eps = latencies.length / wall;
  const p = (q: number) => `${(percentile(latencies, q) / 1000).toFixed(2)} s`;
  return {
    rows: [
      {
        part: '2 end to end',
        measure: `${n.toLocaleString('en-US')} mixed events (4 families), HTTP 202 → effect in table: events/s`,
        ours: Math.round(eps).toLocaleString('en-US'),
        baseline: `${Math.round(summary.eventsPerSecond).toLocaleString('en-US')} (ingest alone)`,
        ratio: '—',
        notes: `${latencies.length.toLocaleString('en-US')}/${summary.accepted.toLocaleString('en-US')} effects seen, ${claims.toLocaleString('en-US')} claims in table; send took ${((sentDone - t0) / 1000).toFixed(1)} s, drain ${((lastEffect - sentDone) / 1000).toFixed(1)} s`,
      },
      {
        part: '2 end to end',
        measure: 'latency per event, 202 → effect: p50 / p95 / p99',
        ours: `${p(50)} / ${p(95)} / ${p(99)}`,
        baseline: '—',
        ratio: '—',
        notes: 'checkpoints sampled every 100 ms; batch route, 100 per request, concurrency 2 (kinesis-local slows under concurrent PutRecords, part 1)',
      },
    ],
    data: { events: n, accepted: summary.accepted, effects: latencies.length, claims, wallSeconds: wall, eventsPerSecond: eps, latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) }, ingest: summary },
  };
}
