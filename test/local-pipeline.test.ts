/**
 * Local mode end to end over HTTP: the dev deployment's four families through
 * the local API, kinesis-local, the pollers, the real handler bundles,
 * dynalite and the alert sink. Batching windows are shortened to 0.3 s so the
 * suite does not wait dev's 5 s per step; everything else is the dev stack's.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { KinesisDataStreamSchema } from '@aws-lambda-powertools/parser/schemas/kinesis';
import { startLocal, type LocalPipeline } from '../local/index.js';
import { startGateway, type Gateway } from '../local/gateway.js';
import { freePort } from '../local/ports.js';
import { MESSAGES } from '../modules/templates.js';
import { eventually, fastWindows, post, scanAll, tempStateDir } from './local/helpers.js';

let local: LocalPipeline;
let stateDir: string;
const built: Array<{ family: string; event: KinesisStreamEvent }> = [];

beforeAll(async () => {
  stateDir = tempStateDir('local-pipeline');
  local = await startLocal({
    port: 0,
    stateDir,
    quiet: true,
    deployment: (dev) => fastWindows(dev),
    onEvent: (family, event) => built.push({ family, event: structuredClone(event) }),
  });
});

afterAll(async () => {
  await local?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('ingestion per family', () => {
  it('accepts single and batch events of every family and the processors write their effects', async () => {
    for (const f of local.deployment.families) {
      const name = f.family.name;
      const single = await post(`${local.apiUrl}/events/${name}`, f.family.example);
      expect(single.status, `${name} single`).toBe(202);
      expect(single.json).toEqual({ id: expect.any(String), sequenceNumber: expect.stringMatching(/^\d+$/), shardId: expect.stringMatching(/^shardId-\d{12}$/) });
      expect(single.headers.get('access-control-allow-origin')).toBe(local.deployment.api.corsAllowOrigins[0]);

      const batch = await post(`${local.apiUrl}/events/${name}/batch`, { records: [f.family.example, f.family.example] });
      expect(batch.status, `${name} batch`).toBe(202);
      expect(batch.json.failedRecordCount).toBe(0);
      expect(batch.json.records).toHaveLength(2);
      for (const r of batch.json.records) expect(r).toEqual({ id: expect.stringMatching(/:\d$/), sequenceNumber: expect.any(String), shardId: expect.any(String) });
    }
    // Every family's three events reach its processor and leave items under the family's key prefix.
    const items = await eventually(async () => {
      const stats = local.stats();
      if (!local.deployment.families.every((f) => stats[f.family.name]!.succeededRecords >= 3)) return undefined;
      const all = await scanAll(local.dynamo, local.deployment.tableName);
      return local.deployment.families.every((f) => all.some((i) => String(i.pk).startsWith(`${f.family.name}#`))) ? all : undefined;
    }, 30_000, 'effects of every family in the table');
    expect(items.length).toBeGreaterThanOrEqual(local.deployment.families.length);
  });
});

describe('errors, as API Gateway answers them', () => {
  it('400 with the validator reason for a body that fails the model', async () => {
    const r = await post(`${local.apiUrl}/events/user_activity`, { user_id: 'u-1' });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ message: 'Invalid request body: [object has missing required properties (["action"])]' });
    const wrongType = await post(`${local.apiUrl}/events/user_activity`, { user_id: 'u-1', action: 7 });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.message).toContain('instance type (integer) does not match any allowed primitive type (allowed: ["string"])');
    const emptyBatch = await post(`${local.apiUrl}/events/user_activity/batch`, { records: [] });
    expect(emptyBatch.status).toBe(400);
    expect(emptyBatch.json.message).toContain('array is too short: must have at least 1 elements but instance has 0 elements');
  });

  it('400 for malformed JSON', async () => {
    const r = await post(`${local.apiUrl}/events/orders`, '{"order_id": ');
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/^Invalid request body: \[Invalid JSON in request body: /);
  });

  it('404 for an unknown family or path, 415 for a non-JSON body, 413 over 10 MB', async () => {
    const unknown = await post(`${local.apiUrl}/events/nope`, {});
    expect(unknown).toMatchObject({ status: 404, json: { message: MESSAGES.notFound } });
    const get = await fetch(`${local.apiUrl}/events/orders`);
    expect(get.status).toBe(404);

    const text = await post(`${local.apiUrl}/events/orders`, 'hello', { 'content-type': 'text/plain' });
    expect(text).toMatchObject({ status: 415, json: { message: MESSAGES.unsupportedMediaType } });

    const huge = await post(`${local.apiUrl}/events/orders`, `{"x":"${'a'.repeat(10 * 1024 * 1024)}"}`);
    // As recorded on AWS: plain text, before any gateway response (test/conformance/recorded-apigateway.ts).
    expect(huge).toMatchObject({ status: 413, json: 'HTTP content length exceeded 10485760 bytes.' });
  });

  it('400 from the model for an event over its size bounds (a 1.1 MB metadata value), before Kinesis sees it', async () => {
    // The request models bound free-form fields (modules/model-bounds.ts), so no valid event reaches Kinesis' 1 MiB limit.
    const big = await post(`${local.apiUrl}/events/user_activity`, { user_id: 'u-big', action: 'upload', metadata: { blob: 'b'.repeat(1_100_000) } });
    expect(big.status).toBe(400);
  });

  describe('with a stage of its own', () => {
    let gateway: Gateway | undefined;
    afterAll(async () => gateway?.stop());

    it('429 over the stage throttle, 403 without the API key, 500 when Kinesis is unreachable', async () => {
      // A second gateway on the same engines, with a stage that refills one request per 100 s (so a slow
      // machine cannot refill the bucket between requests), burst 2, and keys required.
      gateway = await startGateway({
        deployment: { ...local.deployment, api: { ...local.deployment.api, throttlingRateLimit: 0.01, throttlingBurstLimit: 2, apiKeyRequired: true } },
        kinesisEndpoint: local.kinesisEndpoint,
        port: 0,
        apiKey: 'test-key',
      });
      const example = local.deployment.families[0]!.family.example;
      const url = `${gateway.url}/events/${local.deployment.families[0]!.family.name}`;
      expect(await post(url, example)).toMatchObject({ status: 403, json: { message: MESSAGES.forbidden } });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await post(url, example, { 'x-api-key': 'test-key' })).status);
      expect(statuses.slice(0, 2)).toEqual([202, 202]);
      const throttled = await post(url, example, { 'x-api-key': 'test-key' });
      expect(throttled).toMatchObject({ status: 429, json: { message: MESSAGES.rateLimited } });
      await gateway.stop();

      const dead = await startGateway({ deployment: local.deployment, kinesisEndpoint: `http://127.0.0.1:${await freePort()}`, port: 0 });
      gateway = dead;
      const r = await post(`${dead.url}/events/orders`, local.deployment.families.find((f) => f.family.name === 'orders')!.family.example);
      expect(r).toMatchObject({ status: 500, json: { message: MESSAGES.internal } });
    });
  });
});

describe('malformed records', () => {
  it('reach the alert sink and do not block later records on the same shard', async () => {
    const f = local.deployment.families.find((x) => x.family.name === 'user_activity')!;
    const key = 'u-malformed-test';
    const put = (data: string) => local.kinesis.send(new PutRecordCommand({ StreamName: f.stream.name, PartitionKey: key, Data: Buffer.from(data) }));
    const before = local.alertSink.events().length;
    await put('this is not json');
    await put(JSON.stringify({ id: 'bad-1', family: 'user_activity', key: null, receivedAt: Date.now(), sourceIp: '127.0.0.1', data: { user_id: key } }));
    const good = await post(`${local.apiUrl}/events/user_activity`, { user_id: key, action: 'after_malformed' });
    expect(good.status).toBe(202);

    const alerts = await local.alertSink.waitFor((events) => events.length >= before + 2, 20_000);
    const fresh = alerts.slice(before);
    expect(fresh.length).toBeGreaterThanOrEqual(2);
    for (const a of fresh) expect(a.source).toContain('user_activity');
    const listed = (await (await fetch(`${local.apiUrl}/local/alerts`)).json()) as unknown[];
    expect(listed.length).toBe(local.alertSink.events().length);

    await eventually(async () => {
      const items = await scanAll(local.dynamo, local.deployment.tableName);
      return items.some((i) => String(i.pk).includes(key)) || undefined;
    }, 20_000, 'the valid record after the malformed ones is processed');
  });
});

describe('event shape', () => {
  it('every event the pollers built validates against Powertools\' KinesisDataStreamSchema', () => {
    expect(built.length).toBeGreaterThan(0);
    for (const { family, event } of built) {
      const parsed = KinesisDataStreamSchema.safeParse(event);
      expect(parsed.success, `${family}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`).toBe(true);
      for (const record of event.Records) {
        expect(record.eventID).toBe(`${record.eventID.split(':')[0]}:${record.kinesis.sequenceNumber}`);
        expect(record.eventSourceARN).toMatch(/^arn:aws:kinesis:[a-z0-9-]+:\d{12}:stream\/event-flow-dev-/);
        expect(record.kinesis.approximateArrivalTimestamp).toBeGreaterThan(1.7e9);
        expect(record.kinesis.approximateArrivalTimestamp).toBeLessThan(1e11);
      }
    }
  });
});
