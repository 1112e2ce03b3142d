/**
 * The fault injection local mode offers soak tests, and the sandbox's Lambda
 * behaviours that the pipeline suites do not reach: a DynamoDB that answers
 * real throttling errors, a handler that crashes, a handler that runs past
 * its timeout and gets a fresh sandbox.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDBClient, ListTablesCommand, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { dynamoClient, LOCAL_CREDENTIALS } from '../local/aws.js';
import { startDynamo } from '../local/engines/dynamodb.js';
import { seededRandom, startThrottleProxy } from '../local/faults.js';
import { REPO_ROOT } from '../local/index.js';
import { Sandbox } from '../local/invoker.js';
import type { FamilyDeployment } from '../modules/deployment.js';
import { tempStateDir } from './local/helpers.js';

const dir = tempStateDir('local-faults');
const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

describe('DynamoDB throttling proxy', () => {
  it('answers a seeded fraction of requests with a ProvisionedThroughputExceededException the SDK recognises', async () => {
    const dynamo = await startDynamo({ dataDir: join(dir, 'dynamodb') });
    stops.push(dynamo.stop);
    const proxy = await startThrottleProxy(dynamo.endpoint, 0.5, seededRandom(7));
    stops.push(proxy.stop);
    const client = dynamoClient(proxy.endpoint, 'eu-west-1');
    // One attempt per call, so each outcome is one proxy decision.
    const noRetry = new DynamoDBClient({ endpoint: proxy.endpoint, region: 'eu-west-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const outcomes: string[] = [];
    for (let i = 0; i < 40; i++) {
      try {
        await noRetry.send(new ListTablesCommand({}));
        outcomes.push('ok');
      } catch (error) {
        expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
        expect((error as ProvisionedThroughputExceededException).$metadata.httpStatusCode).toBe(400);
        outcomes.push('throttled');
      }
    }
    expect(outcomes.filter((o) => o === 'throttled').length).toBeGreaterThan(5);
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThan(5);
    expect(proxy.stats).toEqual({ requests: 40, throttled: outcomes.filter((o) => o === 'throttled').length });
    // With its default retries the SDK gets through, as a processor would.
    await expect(client.send(new ListTablesCommand({}))).resolves.toHaveProperty('TableNames');
    client.destroy();
    noRetry.destroy();
  });
});

describe('Lambda sandbox', () => {
  const family = (timeoutSeconds: number): FamilyDeployment => ({
    family: { name: 'local_probe', description: '', schema: undefined as never, partitionKey: ['id'], idempotencyKey: 'event_id', example: {} },
    stream: { name: 's', mode: 'PROVISIONED', shardCount: 1, retentionHours: 24 },
    processor: {
      functionName: 'probe-fn',
      handler: 'index.handler',
      bundleDir: 'test/fixtures/local-probe',
      memorySize: 128,
      timeoutSeconds,
      environment: { FAMILY_NAME: 'local_probe', PROBE_LOG: join(dir, 'probe.jsonl') },
    },
    eventSource: {
      startingPosition: 'TRIM_HORIZON',
      batchSize: 1,
      maximumBatchingWindowInSeconds: 0,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: 0,
      maximumRecordAgeInSeconds: -1,
      parallelizationFactor: 1,
      reportBatchItemFailures: true,
    },
    failureRetentionDays: 14,
  });
  const event = (data: Record<string, unknown>) => ({
    Records: [{ kinesis: { sequenceNumber: '1', data: Buffer.from(JSON.stringify({ data })).toString('base64') } }],
  });
  const sandbox = (timeoutSeconds: number, crash?: () => boolean) => {
    const s = new Sandbox({ deployment: family(timeoutSeconds), repoRoot: REPO_ROOT, region: 'eu-west-1', accountId: '000000000000', extraEnv: {}, ...(crash ? { crash } : {}) });
    stops.push(() => s.close());
    return s;
  };

  it('an injected crash makes the invocation fail as an unhandled function error', async () => {
    let crash = true;
    const s = sandbox(10, () => crash);
    const failed = await s.invoke(event({ id: 'c' }));
    expect(failed.error).toMatchObject({ errorType: 'Error', errorMessage: expect.stringContaining('Injected fault') });
    crash = false;
    const ok = await s.invoke(event({ id: 'c' }));
    expect(ok.error).toBeUndefined();
    expect(ok.result).toEqual({ batchItemFailures: [] });
  });

  it('a handler past its timeout fails with Sandbox.Timedout and the next invocation gets a fresh sandbox', async () => {
    const s = sandbox(1);
    const slow = await s.invoke(event({ id: 't', sleepMs: 5000 }));
    expect(slow.error).toEqual({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 1.00 seconds' });
    expect(slow.durationMs).toBeLessThan(3000);
    const next = await s.invoke(event({ id: 't' }));
    expect(next.result).toEqual({ batchItemFailures: [] });
  });
});
