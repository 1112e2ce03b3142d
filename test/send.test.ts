import { execFile } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES, MixedGenerator, createGenerator, familyByName, malform } from '../tools/generators/families.js';
import { Prng } from '../tools/generators/prng.js';
import { Sender, type LogEntry } from '../tools/generators/sender.js';
import { eventSource } from '../tools/generators/source.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

const options = { seed: 7, epochMs: Date.parse('2026-11-01T00:00:00Z'), idPrefix: 't' };

describe('event generator', () => {
  it.each(FAMILIES.map((f) => f.name))('every generated %s event passes the family schema', (name) => {
    const generator = createGenerator(name, options);
    const family = familyByName(name);
    const failures: unknown[] = [];
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const body = generator.next();
      const result = family.schema.safeParse(body);
      if (!result.success) failures.push({ body, issues: result.error.issues });
      ids.add(String(body.event_id));
    }
    expect(failures.slice(0, 3)).toEqual([]);
    expect(ids.size).toBe(5000);
  });

  it('covers every tutoring event type and produces alert-worthy data', () => {
    const generator = createGenerator('tutoring', options);
    const types = new Map<string, number>();
    let lowHealth = 0;
    let highDemand = 0;
    for (let i = 0; i < 5000; i++) {
      const body = generator.next() as { event_type: string; payload: Record<string, unknown> };
      types.set(body.event_type, (types.get(body.event_type) ?? 0) + 1);
      if (body.event_type === 'customer_health_update' && (body.payload.health_score as number) < 50) lowHealth += 1;
      if (body.payload.balance_status === 'high_demand') highDemand += 1;
    }
    expect([...types.keys()].sort()).toEqual([
      'customer_health_update',
      'ib_call_logged',
      'session_completed',
      'session_started',
      'supply_demand_update',
      'tutor_availability_updated',
    ]);
    expect(lowHealth).toBeGreaterThan(0);
    expect(highDemand).toBeGreaterThan(0);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const take = (seed: number) => {
      const g = new MixedGenerator(FAMILIES.map((f) => f.name), { ...options, seed });
      return Array.from({ length: 500 }, () => g.next());
    };
    expect(take(3)).toEqual(take(3));
    expect(take(3)).not.toEqual(take(4));
  });

  it('malformed variants are refused: not JSON, or failing the family schema', () => {
    const prng = new Prng(11);
    const kinds = new Set<string>();
    for (const family of FAMILIES) {
      const generator = createGenerator(family.name, options);
      for (let i = 0; i < 300; i++) {
        const bad = malform(prng, family, generator.next());
        kinds.add(bad.kind);
        let parsed: unknown;
        try {
          parsed = JSON.parse(bad.raw);
        } catch {
          expect(bad.kind).toBe('bad_json');
          continue;
        }
        expect(bad.kind, bad.raw).toBe('wrong_schema');
        expect(family.schema.safeParse(parsed).success, `${bad.reason}: ${bad.raw}`).toBe(false);
      }
    }
    expect([...kinds].sort()).toEqual(['bad_json', 'wrong_schema']);
  });
});

describe('sender over real HTTP', () => {
  let server: http.Server;
  let url: string;
  const seen: { path: string; body: string }[] = [];
  let batchCalls = 0;

  beforeAll(async () => {
    // A stand-in speaking the API contract (ARCHITECTURE.md, 6 API): single 202s, batches where the
    // first attempt fails one record, invalid JSON 400.
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ path: req.url ?? '', body });
        let parsed: { records?: unknown[] };
        try {
          parsed = JSON.parse(body);
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"message":"Invalid request body"}');
          return;
        }
        if (req.url?.endsWith('/batch')) {
          batchCalls += 1;
          const failFirst = batchCalls === 1;
          const records = parsed.records!.map((_, i) =>
            failFirst && i === 0
              ? { id: `b${batchCalls}:${i}`, errorCode: 'ProvisionedThroughputExceededException' }
              : { id: `b${batchCalls}:${i}`, sequenceNumber: String(seen.length * 1000 + i), shardId: 'shardId-000000000000' },
          );
          res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ failedRecordCount: failFirst ? 1 : 0, records }));
          return;
        }
        res
          .writeHead(202, { 'content-type': 'application/json' })
          .end(JSON.stringify({ id: `r${seen.length}`, sequenceNumber: String(seen.length), shardId: 'shardId-000000000001' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('single route: every event is logged once, malformed ones as rejected', async () => {
    const entries: LogEntry[] = [];
    const sender = new Sender({ url, concurrency: 4, batch: 1, rate: 0, onEntry: (e) => entries.push(e) });
    const source = eventSource({ ...options, families: ['tutoring', 'orders'], malformed: 0.2, count: 200 });
    const summary = await sender.run(source);
    sender.close();
    expect(summary.sent).toBe(200);
    expect(summary.accepted + summary.rejected).toBe(200);
    expect(entries).toHaveLength(200);
    for (const e of entries) {
      if (e.malformed === 'bad_json') expect(e.accepted).toBe(false);
      if (!e.malformed) expect(e.accepted).toBe(true);
    }
    expect(new Set(entries.filter((e) => e.accepted).map((e) => e.sequenceNumber)).size).toBe(summary.accepted);
  });

  it('batch route: retries exactly the failed record and logs each event once', async () => {
    const entries: LogEntry[] = [];
    const sender = new Sender({ url, concurrency: 2, batch: 25, rate: 0, onEntry: (e) => entries.push(e) });
    const summary = await sender.run(eventSource({ ...options, families: ['payments'], malformed: 0, count: 100 }));
    sender.close();
    expect(summary.accepted).toBe(100);
    expect(summary.retries).toBe(1);
    const keys = entries.map((e) => e.key);
    expect(new Set(keys).size).toBe(100);
    // The retried request carried only the one record the first attempt lost.
    const batchBodies = seen.filter((s) => s.path === '/events/payments/batch').map((s) => JSON.parse(s.body).records.length);
    expect(batchBodies.sort((a, b) => a - b)).toEqual([1, 25, 25, 25, 25]);
  });

  it('npm run send without --url reaches the API of npm start on the same PORT', async () => {
    const before = seen.filter((s) => s.path === '/events/orders').length;
    const { EVENT_FLOW_URL: _unset, ...inherited } = process.env;
    const env = { ...inherited, PORT: new URL(url).port };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/send.ts', '--family', 'orders', '--count', '5', '--rate', '0'], { env, cwd: repoRoot });
    expect(seen.filter((s) => s.path === '/events/orders').length - before).toBe(5);
    expect(stdout).toMatch(/accepted/);
  }, 60_000);
});
