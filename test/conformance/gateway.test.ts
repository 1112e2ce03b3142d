/**
 * The edge contract through the real local pipeline over HTTP (local gateway,
 * kinesis-local, the pollers): what clients get back, and that what they send
 * reaches the processor exactly as sent. The recorded facts it checks against
 * are in ./recorded-apigateway.ts.
 */
import { rmSync } from 'node:fs';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../local/gateway.js';
import { startLocal, type LocalPipeline } from '../../local/index.js';
import { freePort } from '../../local/ports.js';
import { RETRY_AFTER_SECONDS } from '../../modules/templates.js';
import { eventually, fastWindows, post, tempStateDir } from '../local/helpers.js';
import { OVER_10_MB, VALIDATOR_TEXTS as T, text } from './recorded-apigateway.js';

let local: LocalPipeline;
let stateDir: string;
const delivered: string[] = [];
const gateways: Gateway[] = [];

beforeAll(async () => {
  stateDir = tempStateDir('conformance-gateway');
  local = await startLocal({
    port: 0,
    stateDir,
    quiet: true,
    deployment: (dev) => fastWindows(dev),
    // The raw Data of every record handed to a processor.
    onEvent: (_family, event: KinesisStreamEvent) => {
      for (const r of event.Records) delivered.push(Buffer.from(r.kinesis.data, 'base64').toString('utf8'));
    },
  });
}, 120_000);

afterAll(async () => {
  for (const g of gateways) await g.stop();
  await local?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

const origin = () => local.deployment.api.corsAllowOrigins[0] ?? '*';

describe('numbers reach the processor exactly as they were sent', () => {
  it('single and batch routes: no JSON round trip through doubles anywhere on the way', async () => {
    const metadata = '{"big":12345678901234567890,"huge":1e400,"exact":0.10000000000000000555}';
    const single = await post(`${local.apiUrl}/events/user_activity`, `{"user_id":"u-numbers","action":"probe","metadata":${metadata}}`);
    expect(single.status).toBe(202);
    const batch = await post(`${local.apiUrl}/events/user_activity/batch`, `{"records":[{"user_id":"u-numbers-b","action":"probe","metadata":${metadata}}]}`);
    expect(batch.status).toBe(202);
    for (const user of ['u-numbers', 'u-numbers-b']) {
      const data = await eventually(() => delivered.find((d) => d.includes(`"user_id":"${user}"`)), 30_000, `${user} delivered`);
      expect(data).toContain(`"metadata":${metadata}`);
    }
  }, 60_000);
});

describe('answers a client can act on, every one with the CORS header', () => {
  it('400: an unknown discriminator names the allowed values first', async () => {
    const r = await post(`${local.apiUrl}/events/orders`, { order_id: 'o-1', customer_id: 'c-1', type: 'refunded' });
    expect(r.status).toBe(400);
    expect(r.headers.get('access-control-allow-origin')).toBe(origin());
    const first = text(T.notInEnum, '"refunded"', '["cancelled","created","paid","shipped"]');
    expect(r.json.message).toBe(`Invalid request body: [${first}, ${text(T.oneOfFail, 0, 4)}]`);
  });

  it('400, not 500, for a body nested 10,000 levels deep, with a clear message', async () => {
    const deep = `{"user_id":"u-deep","action":"probe","metadata":{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`;
    const r = await post(`${local.apiUrl}/events/user_activity`, deep);
    expect(r.status).toBe(400);
    expect(r.headers.get('access-control-allow-origin')).toBe(origin());
    expect(r.json.message).toMatch(/^Invalid request body: \[Invalid JSON in request body: Document nested deeper than 1000 levels/);
  });

  it('404 and 415 carry it too', async () => {
    for (const r of [await post(`${local.apiUrl}/events/nope`, {}), await post(`${local.apiUrl}/events/orders`, 'x', { 'content-type': 'text/plain' })]) {
      expect([404, 415]).toContain(r.status);
      expect(r.headers.get('access-control-allow-origin')).toBe(origin());
    }
  });

  it(`over 10 MB: the recorded plain-text 413, answered before any gateway response (${OVER_10_MB.source.where})`, async () => {
    const r = await fetch(`${local.apiUrl}/events/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"x":"${'a'.repeat(OVER_10_MB.limitBytes)}"}`,
    });
    expect(r.status).toBe(OVER_10_MB.status);
    expect(r.headers.get('content-type')).toBe(OVER_10_MB.contentType);
    expect(await r.text()).toBe(OVER_10_MB.body);
  });

  it('429 from the stage throttle says when to retry; 403 without a key; both with CORS', async () => {
    const gateway = await startGateway({
      deployment: { ...local.deployment, api: { ...local.deployment.api, throttlingRateLimit: 0.01, throttlingBurstLimit: 1, apiKeyRequired: true } },
      kinesisEndpoint: local.kinesisEndpoint,
      port: 0,
      apiKey: 'k',
    });
    gateways.push(gateway);
    const url = `${gateway.url}/events/user_activity`;
    const forbidden = await post(url, {});
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('access-control-allow-origin')).toBe(origin());
    const statuses: Array<{ status: number; retryAfter: string | null; cors: string | null }> = [];
    for (let i = 0; i < 3; i++) {
      const r = await post(url, { user_id: 'u-throttle', action: 'probe' }, { 'x-api-key': 'k' });
      statuses.push({ status: r.status, retryAfter: r.headers.get('retry-after'), cors: r.headers.get('access-control-allow-origin') });
    }
    const throttled = statuses.find((s) => s.status === 429);
    expect(throttled).toEqual({ status: 429, retryAfter: String(RETRY_AFTER_SECONDS), cors: origin() });
  });

  it('500 when Kinesis is unreachable: CORS, retryable, and the internal error is logged', async () => {
    const log: string[] = [];
    const dead = await startGateway({ deployment: local.deployment, kinesisEndpoint: `http://127.0.0.1:${await freePort()}`, port: 0, log: (l) => log.push(l) });
    gateways.push(dead);
    const r = await post(`${dead.url}/events/user_activity`, { user_id: 'u-dead', action: 'probe' });
    expect(r.status).toBe(500);
    expect(r.headers.get('access-control-allow-origin')).toBe(origin());
    expect(r.json).toMatchObject({ retryable: true });
    expect(log.some((l) => l.startsWith('integration of /events/user_activity failed') && l.includes('ECONNREFUSED'))).toBe(true);
  });
});
