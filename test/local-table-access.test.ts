/**
 * Local mode end to end: a processor whose keys fall outside its role's
 * leading-key prefix fails in local mode as it would on AWS (IAM's
 * `dynamodb:LeadingKeys` condition; Amazon DynamoDB Developer Guide, "Using
 * IAM policy conditions for fine-grained access control") instead of passing
 * and failing only after deployment.
 *
 * The wrong prefix is made the way it happens: the orders bundle (the real
 * runtime, which keys every item `orders#…`) deployed as a family named
 * `orders_shadow`, whose grant is `orders_shadow#*`. The real orders family
 * runs alongside with its own grant and must be unaffected.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFailureRecords } from '../local/failure-store.js';
import { startLocal, type LocalPipeline } from '../local/index.js';
import type { FamilyDeployment, PipelineDeployment } from '../modules/deployment.js';
import { processorTableAccess } from '../modules/table-access.js';
import { eventually, fastWindows, post, scanAll, tempStateDir } from './local/helpers.js';

const SHADOW = 'orders_shadow';
const stateDir = tempStateDir('local-table-access');
let local: LocalPipeline | undefined;
const printed: string[] = [];

function ordersAndShadow(dev: PipelineDeployment): PipelineDeployment {
  const fast = fastWindows(dev, 0.2);
  const orders = fast.families.find((f) => f.family.name === 'orders')!;
  const functionName = `${orders.processor.functionName}_shadow`;
  const shadow: FamilyDeployment = {
    ...orders,
    family: { ...orders.family, name: SHADOW },
    stream: { ...orders.stream, name: `${orders.stream.name}_shadow`, shardCount: 1 },
    processor: { ...orders.processor, functionName },
    // No retries: the first failure goes to the on-failure destination, which keeps the test short.
    eventSource: { ...orders.eventSource, maximumRetryAttempts: 0, bisectBatchOnFunctionError: false },
    // The grant the stack would synthesize for a family of this name.
    tableAccess: processorTableAccess(SHADOW, functionName),
  };
  return { ...fast, families: [{ ...orders, stream: { ...orders.stream, shardCount: 1 } }, shadow] };
}

beforeAll(async () => {
  local = await startLocal({ port: 0, stateDir, clean: true, print: (line) => printed.push(line), deployment: ordersAndShadow });
});

afterAll(async () => {
  await local?.stop();
  if (!process.env.KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
});

describe('the processors’ table permissions in local mode', () => {
  it('a processor writing outside its prefix gets AccessDeniedException; the same code within its prefix applies the event', async () => {
    const example = local!.deployment.families[0]!.family.example as Record<string, unknown>;
    const inPrefix = { ...example, event_id: 'evt-iam-own', order_id: 'ord-iam-own' };
    const outside = { ...example, event_id: 'evt-iam-shadow', order_id: 'ord-iam-shadow' };
    expect((await post(`${local!.apiUrl}/events/orders`, inPrefix)).status).toBe(202);
    expect((await post(`${local!.apiUrl}/events/${SHADOW}`, outside)).status).toBe(202);

    // Within the prefix: applied.
    await eventually(async () => ((await scanAll(local!.dynamo, local!.deployment.tableName)).some((i) => JSON.stringify(i).includes('ord-iam-own')) ? true : undefined), 30_000, 'the orders effect');

    // Outside it: the record ends in the on-failure destination with its payload, and nothing of it is in the table.
    const [failure] = await eventually(() => (readFailureRecords(local!.stateDir, SHADOW).length > 0 ? readFailureRecords(local!.stateDir, SHADOW) : undefined), 30_000, 'a failure object');
    expect(failure!.body.requestContext.condition).toBe('RetryAttemptsExhausted');
    const payload = failure!.body.payload as { Records: Array<{ kinesis: { data: string } }> };
    expect(payload.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString('utf8')).join()).toContain('ord-iam-shadow');
    expect((await scanAll(local!.dynamo, local!.deployment.tableName)).filter((i) => JSON.stringify(i).includes('ord-iam-shadow'))).toEqual([]);

    // The processor saw DynamoDB's IAM denial through its SDK, naming its role, as it would on AWS: in its log
    // when it reports the record as failed, in the mapping's batch line when it fails the invocation.
    const seen = `${readFileSync(join(local!.stateDir, 'logs', `${SHADOW}.log`), 'utf8')}\n${printed.join('\n')}`;
    expect(seen).toContain('AccessDeniedException');
    expect(seen).toMatch(new RegExp(`assumed-role/${local!.deployment.families[1]!.tableAccess!.roleName}/[^ ]+ is not authorized to perform: dynamodb:\\w+ on resource: arn:aws:dynamodb:`));
    // Local mode says why, which AWS's message does not.
    expect(printed.some((line) => line.startsWith('warning: IAM would deny') && line.includes(`outside ForAllValues:StringLike dynamodb:LeadingKeys ${SHADOW}#*`))).toBe(true);
    expect(local!.deniedTableRequests()).toBeGreaterThan(0);
  });
});
