/**
 * Redrive in local mode, end to end: the orders family's real processor
 * bundle, local mode's event source mapping and its S3-shaped on-failure
 * destination. Local mode runs with every invocation crashing (fault
 * injection, local/faults.ts), so the records sent end up in the destination
 * with their payload; redrive then runs the same bundle in its own sandbox,
 * first still crashing, then fixed (no injected crash), then again.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { route as ordersRoute } from '../handlers/orders/handler.js';
import { LOCAL_CREDENTIALS } from '../local/aws.js';
import { payloadRecords, readFailureRecords, writeFailureObject, type StoredFailure } from '../local/failure-store.js';
import { REPO_ROOT, startLocal, type LocalPipeline } from '../local/index.js';
import { Sandbox } from '../local/invoker.js';
import { assertPortFree, freePort } from '../local/ports.js';
import type { PipelineDeployment } from '../modules/deployment.js';
import { formatRedriveReport, redrive, type RedriveOptions } from '../ops/redrive/redrive.js';
import { localFailureStore } from '../ops/redrive/store.js';
import { eventually, fastWindows, post, scanAll, tempStateDir } from './local/helpers.js';

const stateDir = tempStateDir('redrive');
let local: LocalPipeline | undefined;
let apiPort = 0;
const sandboxes: Sandbox[] = [];

/** Only orders, few retries, a short window: the records reach the destination within seconds. */
function ordersOnly(dev: PipelineDeployment): PipelineDeployment {
  const fast = fastWindows(dev);
  return { ...fast, families: fast.families.filter((f) => f.family.name === 'orders').map((f) => ({ ...f, eventSource: { ...f.eventSource, maximumRetryAttempts: 1 } })) };
}

/** Four ports after the API's, as npm start lays them out, so the CLI finds the engines. */
async function portRun(): Promise<number> {
  for (;;) {
    const port = await freePort();
    try {
      for (let i = 1; i <= 4; i++) await assertPortFree(port + i, 'engine');
      return port;
    } catch {
      // taken: try another
    }
  }
}

beforeAll(async () => {
  apiPort = await portRun();
  local = await startLocal({
    port: apiPort,
    enginePorts: { kinesis: apiPort + 1, kinesisTls: apiPort + 2, dynamodb: apiPort + 3, alertSink: apiPort + 4 },
    stateDir,
    quiet: true,
    deployment: ordersOnly,
    faults: { handlerCrashRate: 1 },
  });
});

afterAll(async () => {
  await Promise.all(sandboxes.map((s) => s.close()));
  await local?.stop();
  if (!process.env.KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
});

/**
 * The orders processor in a sandbox of its own, on local mode's engines; `crash` keeps it failing,
 * `dynamoEndpoint` points its DynamoDB client elsewhere (a closed port: every request a dependency failure).
 */
function processor(crash: boolean, dynamoEndpoint?: string): RedriveOptions['invoke'] {
  const family = local!.deployment.families[0]!;
  const sandbox = new Sandbox({
    deployment: family,
    repoRoot: REPO_ROOT,
    region: local!.deployment.region,
    accountId: '000000000000',
    extraEnv: {
      AWS_REGION: local!.deployment.region,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint ?? local!.dynamoEndpoint,
      AWS_MAX_ATTEMPTS: '1',
      AWS_ENDPOINT_URL_EVENTBRIDGE: local!.alertSink.endpoint,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    },
    ...(crash ? { crash: () => true } : {}),
  });
  sandboxes.push(sandbox);
  return (event) => sandbox.invoke(event);
}

function options(invoke: RedriveOptions['invoke'], extra: Partial<RedriveOptions> = {}): RedriveOptions {
  const family = local!.deployment.families[0]!;
  return { family: family.family, route: ordersRoute as RedriveOptions['route'], store: localFailureStore(stateDir, 'orders'), invoke, dynamo: local!.dynamo, kinesis: local!.kinesis, tableName: local!.deployment.tableName, ...extra };
}

const orders = ['o-r1', 'o-r2', 'o-r3'];
const event = (id: string) => ({ order_id: id, customer_id: 'c-1', type: 'created', items: [{ sku: 'sku-1', quantity: 1, unit_price: 5 }], total_amount: 5, currency: 'EUR', event_id: `ev-${id}` });
const orderItems = async () => (await scanAll(local!.dynamo, local!.deployment.tableName)).filter((i) => String(i.pk).startsWith('orders#order#'));
const objects = () => readFailureRecords(stateDir, 'orders');
const heldSeqs = (all: StoredFailure[]) => all.flatMap((o) => payloadRecords(o.body)?.map((r) => r.kinesis.sequenceNumber) ?? []).sort();

describe('npm run redrive (local mode)', () => {
  const seqs: string[] = [];
  let saved: StoredFailure[] = [];

  it('a crashing handler sends the records, with their payload, to the failure destination', async () => {
    for (const id of orders) {
      const r = await post(`${local!.apiUrl}/events/orders`, event(id));
      expect(r.status).toBe(202);
      seqs.push(r.json.sequenceNumber);
    }
    await eventually(() => (heldSeqs(objects()).length === 3 ? true : undefined), 60_000, 'three failed records in the destination');
    expect(heldSeqs(objects())).toEqual([...seqs].sort());
    expect(await orderItems()).toEqual([]);
    saved = objects();
  });

  it('records still failing stay where they were, with the new reason; nothing is applied', async () => {
    const report = await redrive(options(processor(true)));
    console.log(`still failing:\n${formatRedriveReport([report])}`);
    expect(report.counts).toMatchObject({ still_failing: 3, redriven: 0, already_applied: 0 });
    const after = objects();
    expect(heldSeqs(after)).toEqual([...seqs].sort());
    for (const o of after) expect(o.body.redrive).toMatchObject({ attempts: 1, reason: expect.stringContaining('Injected fault') });
    expect(await orderItems()).toEqual([]);
  });

  it('records the processor reports as batch item failures (its table unreachable) stay too, with that reason', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const report = await redrive(options(processor(false, closed)));
    expect(report.counts).toMatchObject({ still_failing: 3, redriven: 0 });
    for (const o of objects()) expect(o.body.redrive).toMatchObject({ attempts: 2, reason: expect.stringContaining('batch item failure') });
    expect(await orderItems()).toEqual([]);
  });

  it('a dry run says what would happen and changes nothing', async () => {
    const before = objects();
    const report = await redrive(options(processor(false), { dryRun: true }));
    console.log(`dry run:\n${formatRedriveReport([report])}`);
    expect(report.counts.redriven).toBe(3);
    expect(objects()).toEqual(before);
    expect(await orderItems()).toEqual([]);
  });

  it('once the handler is fixed the records are applied once and removed (one from a pointer-only object, read back from the stream)', async () => {
    // One object as an SQS destination would have kept it: no payload, just the shard and range.
    const [pointer] = objects();
    const { payload, ...withoutPayload } = pointer!.body;
    expect(payload).toBeDefined();
    writeFailureObject(stateDir, 'orders', pointer!.key, withoutPayload);

    const output = await runCli(['--env', 'local', '--family', 'orders', '--port', String(apiPort), '--state', stateDir]);
    expect(output.code).toBe(0);
    expect(output.stdout).toMatch(/\| redriven \(applied now\) \| 3 \|/);
    expect(output.stdout).toMatch(/\| still failing \(kept, with the new reason\) \| 0 \|/);
    console.log(`redrive CLI output:\n${output.stdout}`);
    expect(objects()).toEqual([]);
    const items = await orderItems();
    expect(items.map((i) => i.pk).sort()).toEqual(orders.map((id) => `orders#order#${id}`).sort());
    for (const item of items) expect(item).toMatchObject({ status: 'created', total_amount: '5' }) // scanAll leaves numbers as DynamoDB's strings;
  }, 240_000);

  it('a second redrive changes nothing, and a record already applied is not applied again', async () => {
    const table = await scanAll(local!.dynamo, local!.deployment.tableName);
    const empty = await runCli(['--env', 'local', '--family', 'orders', '--port', String(apiPort), '--state', stateDir]);
    console.log(`second redrive CLI output:\n${empty.stdout}`);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain(': 0 failure object(s)');
    expect(await scanAll(local!.dynamo, local!.deployment.tableName)).toEqual(table);

    // The same failure objects again (say, restored from a backup): every record is already applied.
    for (const o of saved) writeFailureObject(stateDir, 'orders', o.key, o.body);
    let invoked = 0;
    const fixed = processor(false);
    const again = await redrive(options((e) => (invoked++, fixed(e))));
    expect(again.counts).toMatchObject({ already_applied: 3, redriven: 0, still_failing: 0 });
    expect(invoked).toBe(0);
    expect(objects()).toEqual([]);
    expect(await scanAll(local!.dynamo, local!.deployment.tableName)).toEqual(table);
  }, 240_000);

  it('a record older than one its lane already applied is applied, or kept with a reason: never reported redriven without its effect', async () => {
    const created = await post(`${local!.apiUrl}/events/orders`, event('o-f1'));
    const paid = await post(`${local!.apiUrl}/events/orders`, { order_id: 'o-f1', customer_id: 'c-1', type: 'paid', total_amount: 5, currency: 'EUR', event_id: 'ev-o-f1-paid' });
    expect([created.status, paid.status]).toEqual([202, 202]);
    const holds = (seq: string) => (o: StoredFailure) => (payloadRecords(o.body) ?? []).some((r) => r.kinesis.sequenceNumber === seq);
    await eventually(() => (objects().some(holds(created.json.sequenceNumber)) && objects().some(holds(paid.json.sequenceNumber)) ? true : undefined), 60_000, 'both records failed');
    // The later record of the lane is applied first (as the live mapping would have, once the bug was fixed).
    const only = (seq: string) => {
      const store = localFailureStore(stateDir, 'orders');
      return { ...store, list: async () => (await store.list()).filter(holds(seq)) };
    };
    const fixed = processor(false);
    expect((await redrive(options(fixed, { store: only(paid.json.sequenceNumber) }))).counts.redriven).toBe(1);
    const report = await redrive(options(fixed, { store: only(created.json.sequenceNumber) }));
    const [item] = (await orderItems()).filter((i) => i.pk === 'orders#order#o-f1');
    const applied = item!.created_at !== undefined;
    const verdict = report.records.find((r) => r.sequenceNumber === created.json.sequenceNumber)!;
    if (applied) expect(verdict.verdict).toBe('redriven');
    else {
      expect(verdict).toMatchObject({ verdict: 'still_failing', reason: expect.stringContaining('fence') });
      expect(objects().some(holds(created.json.sequenceNumber))).toBe(true);
    }
  });

  it('a pointer-only object whose records the stream no longer holds is expired and kept', async () => {
    const [first] = saved;
    const { payload: _, ...pointer } = first!.body;
    const gone = { ...pointer, KinesisBatchInfo: { ...pointer.KinesisBatchInfo, shardId: 'shardId-000000000009' } };
    const goneKey = 'aws/lambda/00000000-0000-4000-8000-000000000000/shardId-000000000009/2026/01/01/2026-01-01T00.00.00-gone';
    writeFailureObject(stateDir, 'orders', goneKey, gone);
    const report = await redrive(options(processor(false)));
    expect(report.counts).toMatchObject({ expired: 1, redriven: 0 });
    expect(report.records.filter((r) => r.key === goneKey).map((r) => r.verdict)).toEqual(['expired']);
    expect(objects().map((o) => o.key)).toContain(goneKey);
  });
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(REPO_ROOT, 'scripts', 'redrive.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
