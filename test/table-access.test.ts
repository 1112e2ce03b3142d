/**
 * Local mode refuses a processor's DynamoDB request outside its role's table
 * grant, as IAM does on AWS: the real proxy, dynalite and the real SDK v3.
 * The rule: the grant allows four actions on the event table and only items
 * whose partition key matches `ForAllValues:StringLike dynamodb:LeadingKeys
 * <family>#*` (Amazon DynamoDB Developer Guide, "Using IAM policy conditions
 * for fine-grained access control"); an IAM denial is HTTP 400 with
 * `com.amazon.coral.service#AccessDeniedException` and "User: <assumed role>
 * is not authorized to perform: <action> on resource: <table> because no
 * identity-based policy allows the <action> action".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testing } from 'cdktf';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type DynamoDBClientConfig,
} from '@aws-sdk/client-dynamodb';
import { dynamoClient, LOCAL_CREDENTIALS, scanTable } from '../local/aws.js';
import { startProcessorProxy, type ProcessorProxy } from '../local/dynamo-proxy.js';
import { createTable, startDynamo, type DynamoEngine } from '../local/engines/dynamodb.js';
import { assertEvaluable, processorCredentials, refusal, tableHashKeys, tableRequests, type TablePrincipal } from '../local/table-access.js';
import { addFamilies } from '../modules/app.js';
import type { PipelineDeployment } from '../modules/deployment.js';
import { ENVIRONMENTS } from '../modules/environments.js';
import { PipelineStack } from '../modules/pipeline-stack.js';
import { named, policyDoc, ref, resources, synthJson, type Block } from './support/synthesized.js';
import { PROCESSOR_TABLE_ACTIONS, processorTableAccess, type TableGrant } from '../modules/table-access.js';

const REGION = 'eu-west-1';
const ACCOUNT = '000000000000';

// One dev stack: its Terraform JSON and the deployment local mode runs are read from the same object.
const stack = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
addFamilies(stack);
const deployment: PipelineDeployment = stack.deployment();
const family = (name: string) => deployment.families.find((f) => f.family.name === name)!;

const tf = synthJson(stack);

/** The processor role's table statement as `terraform` will hand it to IAM. */
function synthesizedGrant(roleName: string): { grant: TableGrant; statement: Block; tableRef: string } {
  const [roleId] = named(tf, 'aws_iam_role', roleName);
  // Every statement of every policy on the role that grants a DynamoDB action: the table grant must be the only one.
  const statements = resources(tf, 'aws_iam_role_policy')
    .filter(([, policy]) => policy.role === ref('aws_iam_role', roleId, 'id'))
    .flatMap(([, policy]) => policyDoc(tf, policy.policy).statement as Block[]);
  const tableStatements = statements.filter((s) => (s.actions as string[]).some((a) => a.startsWith('dynamodb:')));
  expect(tableStatements).toHaveLength(1);
  const statement = tableStatements[0]!;
  const [tableId] = named(tf, 'aws_dynamodb_table', deployment.tableName);
  return {
    statement,
    tableRef: ref('aws_dynamodb_table', tableId, 'arn'),
    grant: {
      sid: statement.sid,
      actions: statement.actions,
      conditions: (statement.condition as Block[]).map((c) => ({ test: c.test, variable: c.variable, values: c.values })),
    },
  };
}

describe('the grant local mode enforces is the one the stack synthesizes', () => {
  it.each(deployment.families.map((f) => f.family.name))('%s: the role policy statement and the deployment carry one grant', (name) => {
    const { processor, tableAccess } = family(name);
    expect(tableAccess).toBeDefined();
    const { grant, statement, tableRef } = synthesizedGrant(tableAccess!.roleName);
    expect(grant).toEqual(tableAccess!.grant);
    expect(statement).toMatchObject({ effect: 'Allow', resources: [tableRef] });
    // The role Lambda assumes is the one the denial names.
    expect(tableAccess).toEqual(processorTableAccess(name, processor.functionName));

    // And the synthesized statement, evaluated as local mode evaluates it, keeps the family to its own prefix.
    const scope = { region: REGION, accountId: ACCOUNT, tableName: deployment.tableName };
    const pattern = grant.conditions[0]!.values[0]!;
    const own = pattern.replace('*', 'item-1');
    const others = deployment.families.filter((f) => f.family.name !== name).map((f) => `${f.family.name}#item-1`);
    for (const action of grant.actions) {
      expect(refusal(grant, scope, { action, table: deployment.tableName, leadingKeys: [own] })).toBeUndefined();
      for (const other of [...others, `${name}item-1`, 'item-1']) {
        expect(refusal(grant, scope, { action, table: deployment.tableName, leadingKeys: [own, other] })).toContain(JSON.stringify(other));
      }
    }
  });

  it('refuses at start-up a grant whose condition local mode cannot evaluate, instead of ignoring it', () => {
    const grant = processorTableAccess('orders', 'fn').grant;
    expect(() => assertEvaluable(grant)).not.toThrow();
    expect(() => assertEvaluable({ ...grant, conditions: [...grant.conditions, { test: 'ForAllValues:StringEquals', variable: 'dynamodb:Attributes', values: ['pk'] }] })).toThrow(
      /cannot evaluate the condition ForAllValues:StringEquals dynamodb:Attributes/,
    );
    expect(() => assertEvaluable({ ...grant, conditions: [{ test: 'StringLike', variable: 'dynamodb:LeadingKeys', values: ['orders#*'] }] })).toThrow(/cannot evaluate/);
  });

  it('reads the partition keys of every item-level call, and none from a Scan (where ForAllValues holds)', async () => {
    const hashKeyOf = async (table: string) => (table === 't' ? 'pk' : undefined);
    const key = (pk: string) => ({ pk: { S: pk }, sk: { S: 's' } });
    expect(await tableRequests('Query', { TableName: 't', KeyConditionExpression: '#p = :v AND begins_with(sk, :s)', ExpressionAttributeNames: { '#p': 'pk' }, ExpressionAttributeValues: { ':v': { S: 'a#1' }, ':s': { S: 'x' } } }, hashKeyOf)).toEqual([
      { action: 'dynamodb:Query', table: 't', leadingKeys: ['a#1'] },
    ]);
    expect((await tableRequests('Query', { TableName: 't', KeyConditionExpression: ':v = pk', ExpressionAttributeValues: { ':v': { S: 'b#2' } } }, hashKeyOf))[0]!.leadingKeys).toEqual(['b#2']);
    expect((await tableRequests('Query', { TableName: 't', KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'c#3' }] } } }, hashKeyOf))[0]!.leadingKeys).toEqual(['c#3']);
    expect(await tableRequests('Scan', { TableName: 't' }, hashKeyOf)).toEqual([{ action: 'dynamodb:Scan', table: 't', leadingKeys: [] }]);
    expect(await tableRequests('TransactWriteItems', { TransactItems: [{ Put: { TableName: 't', Item: key('a#1') } }, { ConditionCheck: { TableName: 't', Key: key('b#1') } }] }, hashKeyOf)).toEqual([
      { action: 'dynamodb:PutItem', table: 't', leadingKeys: ['a#1'] },
      { action: 'dynamodb:ConditionCheckItem', table: 't', leadingKeys: ['b#1'] },
    ]);
    expect(await tableRequests('BatchWriteItem', { RequestItems: { t: [{ PutRequest: { Item: key('a#1') } }, { DeleteRequest: { Key: key('a#2') } }] } }, hashKeyOf)).toEqual([
      { action: 'dynamodb:BatchWriteItem', table: 't', leadingKeys: ['a#1', 'a#2'] },
    ]);
    expect(await tableRequests('ListTables', {}, hashKeyOf)).toEqual([{ action: 'dynamodb:ListTables', table: '*', leadingKeys: [] }]);
  });
});

describe('a processor talking to dynalite through the proxy, with the real SDK', () => {
  let dynamo: DynamoEngine;
  let proxy: ProcessorProxy;
  let admin: DynamoDBClient;
  const clients: DynamoDBClient[] = [];
  const table = deployment.tableName;
  const denials: string[] = [];

  beforeAll(async () => {
    dynamo = await startDynamo();
    admin = dynamoClient(dynamo.endpoint, REGION);
    await createTable(admin, table);
    const principals = new Map<string, TablePrincipal>(
      deployment.families.map((f) => [
        processorCredentials(f.family.name, LOCAL_CREDENTIALS.secretAccessKey).accessKeyId,
        { access: f.tableAccess!, sessionName: f.processor.functionName },
      ]),
    );
    proxy = await startProcessorProxy({
      target: dynamo.endpoint,
      access: {
        scope: { region: REGION, accountId: ACCOUNT, tableName: table },
        principals,
        hashKeyOf: tableHashKeys(admin),
        onDenied: (denial) => denials.push(denial.reason),
      },
    });
  });

  afterAll(async () => {
    for (const client of [...clients, admin]) client?.destroy();
    await proxy?.stop();
    await dynamo?.stop();
  });

  /** The client a family's sandbox builds: its own credentials, one attempt so each call is one decision. */
  function processorClient(familyName: string, config: Partial<DynamoDBClientConfig> = {}): DynamoDBClient {
    const client = new DynamoDBClient({ endpoint: proxy.endpoint, region: REGION, credentials: processorCredentials(familyName, LOCAL_CREDENTIALS.secretAccessKey), maxAttempts: 1, ...config });
    clients.push(client);
    return client;
  }
  const item = (pk: string) => ({ pk: { S: pk }, sk: { S: 'v1' }, note: { S: 'written' } });
  const key = (pk: string) => ({ pk: { S: pk }, sk: { S: 'v1' } });
  const stored = async () => (await scanTable(admin, table)).map((i) => i.pk!.S);

  async function denied(promise: Promise<unknown>): Promise<DynamoDBServiceException> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DynamoDBServiceException);
    return error as DynamoDBServiceException;
  }

  it('within its prefix every granted action works', async () => {
    const orders = processorClient('orders');
    await orders.send(new PutItemCommand({ TableName: table, Item: item('orders#order-1') }));
    expect((await orders.send(new GetItemCommand({ TableName: table, Key: key('orders#order-1'), ConsistentRead: true }))).Item?.note?.S).toBe('written');
    await orders.send(new BatchWriteItemCommand({ RequestItems: { [table]: [{ PutRequest: { Item: item('orders#order-2') } }, { PutRequest: { Item: item('orders#claim#e-2') } }] } }));
    const got = await orders.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: [key('orders#order-1'), key('orders#order-2')], ConsistentRead: true } } }));
    expect(got.Responses?.[table]?.map((i) => i.pk!.S).sort()).toEqual(['orders#order-1', 'orders#order-2']);
    expect(proxy.denied()).toBe(0);
  });

  it('a write outside its prefix is an AccessDeniedException naming the role, action and table, and nothing is written', async () => {
    const orders = processorClient('orders');
    const { processor, tableAccess } = family('orders');
    const error = await denied(orders.send(new PutItemCommand({ TableName: table, Item: item('payments#order-3') })));
    expect(error.name).toBe('AccessDeniedException');
    expect(error.$fault).toBe('client');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/${tableAccess!.roleName}/${processor.functionName} is not authorized to perform: dynamodb:PutItem ` +
        `on resource: arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table} because no identity-based policy allows the dynamodb:PutItem action`,
    );
    expect(denials.at(-1)).toContain('"payments#order-3" outside ForAllValues:StringLike dynamodb:LeadingKeys orders#*');

    // A key without the separator, or the family's name as a mere prefix of another word, is outside too.
    for (const pk of ['orders', 'ordersx#order-3', 'Orders#order-3']) {
      expect((await denied(orders.send(new PutItemCommand({ TableName: table, Item: item(pk) })))).name).toBe('AccessDeniedException');
    }
    // One key outside the prefix refuses the whole batch: no item of it is written.
    const batch = await denied(
      orders.send(new BatchWriteItemCommand({ RequestItems: { [table]: [{ PutRequest: { Item: item('orders#order-4') } }, { PutRequest: { Item: item('tutoring#order-4') } }] } })),
    );
    expect(batch.message).toContain('is not authorized to perform: dynamodb:BatchWriteItem on resource:');
    expect(await stored()).not.toEqual(expect.arrayContaining(['orders#order-4']));
    expect((await stored()).filter((pk) => !pk!.startsWith('orders#'))).toEqual([]);
  });

  it('a read outside its prefix is refused as well: one family cannot see another’s items', async () => {
    await processorClient('payments').send(new PutItemCommand({ TableName: table, Item: item('payments#p-1') }));
    const orders = processorClient('orders');
    expect((await denied(orders.send(new GetItemCommand({ TableName: table, Key: key('payments#p-1') })))).message).toContain('dynamodb:GetItem');
    expect((await denied(orders.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: [key('orders#order-1'), key('payments#p-1')] } } })))).name).toBe(
      'AccessDeniedException',
    );
  });

  it('an action the role is not granted is refused even within the prefix', async () => {
    const orders = processorClient('orders');
    expect(PROCESSOR_TABLE_ACTIONS).not.toContain('dynamodb:UpdateItem');
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['dynamodb:UpdateItem', () => orders.send(new UpdateItemCommand({ TableName: table, Key: key('orders#order-1'), UpdateExpression: 'SET note = :n', ExpressionAttributeValues: { ':n': { S: 'x' } } }))],
      ['dynamodb:DeleteItem', () => orders.send(new DeleteItemCommand({ TableName: table, Key: key('orders#order-1') }))],
      ['dynamodb:Query', () => orders.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'orders#order-1' } } }))],
      ['dynamodb:Scan', () => orders.send(new ScanCommand({ TableName: table }))],
      ['dynamodb:DescribeTable', () => orders.send(new DescribeTableCommand({ TableName: table }))],
    ];
    for (const [action, call] of calls) {
      const error = await denied(call());
      expect(error.name).toBe('AccessDeniedException');
      expect(error.message).toContain(`is not authorized to perform: ${action} on resource: arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table} because no identity-based policy allows the ${action} action`);
    }
    // The item is untouched.
    expect((await admin.send(new GetItemCommand({ TableName: table, Key: key('orders#order-1'), ConsistentRead: true }))).Item?.note?.S).toBe('written');
  });

  it('another table is outside the grant’s resource', async () => {
    await createTable(admin, 'another-table');
    const error = await denied(processorClient('orders').send(new PutItemCommand({ TableName: 'another-table', Item: item('orders#order-5') })));
    expect(error.message).toContain(`on resource: arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/another-table because`);
  });

  it('fails closed: when the table’s key schema cannot be read, the request fails instead of passing unchecked', async () => {
    const blind = await startProcessorProxy({
      target: dynamo.endpoint,
      access: {
        scope: { region: REGION, accountId: ACCOUNT, tableName: table },
        principals: new Map([[processorCredentials('orders', LOCAL_CREDENTIALS.secretAccessKey).accessKeyId, { access: family('orders').tableAccess!, sessionName: 'fn' }]]),
        hashKeyOf: async () => {
          throw new Error('DescribeTable failed');
        },
      },
    });
    try {
      const client = processorClient('orders', { endpoint: blind.endpoint });
      const error = await denied(client.send(new PutItemCommand({ TableName: table, Item: item('payments#blind') })));
      expect(error.$metadata.httpStatusCode).toBe(500);
      expect(await stored()).not.toContain('payments#blind');
    } finally {
      await blind.stop();
    }
  });

  it('credentials that belong to no processor are refused as unknown, and the SDK does not retry a denial', async () => {
    const stranger = new DynamoDBClient({ endpoint: proxy.endpoint, region: REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    clients.push(stranger);
    const error = await denied(stranger.send(new GetItemCommand({ TableName: table, Key: key('orders#order-1') })));
    expect(error.name).toBe('UnrecognizedClientException');
    expect(error.message).toBe('The security token included in the request is invalid.');

    // With its default retry strategy the SDK gives up on an AccessDeniedException after one attempt.
    const before = proxy.stats.requests;
    const error2 = await denied(processorClient('orders', { maxAttempts: 3 }).send(new PutItemCommand({ TableName: table, Item: item('payments#x') })));
    expect(error2.$metadata.attempts).toBe(1);
    expect(proxy.stats.requests - before).toBe(1);
  });
});
