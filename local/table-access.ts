/**
 * IAM's decision on a processor's DynamoDB request, for local mode: the
 * role's table grant (modules/table-access.ts, the object the stack
 * synthesizes its statement from) evaluated against the request's action,
 * table and partition keys, as IAM evaluates `dynamodb:LeadingKeys`
 * (Amazon DynamoDB Developer Guide, "Using IAM policy conditions for
 * fine-grained access control"; IAM User Guide, "Single-valued vs.
 * multivalued context keys"). A refusal is the AccessDeniedException
 * DynamoDB returns for an IAM denial, so the processor's SDK sees what it
 * would see on AWS.
 */
import { DescribeTableCommand, ResourceNotFoundException, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { GrantCondition, TableAccess, TableGrant } from '../modules/table-access.js';

/** The identity a processor's requests carry: its role, assumed by Lambda under the function's name. */
export interface TablePrincipal {
  readonly access: TableAccess;
  /** Lambda names the role session after the function. */
  readonly sessionName: string;
}

/** One authorization IAM makes for a request: an action on one table (or index) with the partition keys it touches. */
export interface TableRequest {
  readonly action: string;
  readonly table: string;
  readonly index?: string;
  /** The values of `dynamodb:LeadingKeys`: empty when the request names no partition key (Scan, ListTables). */
  readonly leadingKeys: readonly string[];
}

export interface Denial {
  readonly principal: string;
  readonly request: TableRequest;
  /** Why, for local mode's own log (AWS's message never says). */
  readonly reason: string;
}

export interface AccessScope {
  readonly region: string;
  readonly accountId: string;
  /** The table the grants' statements name as their resource. */
  readonly tableName: string;
}

/** The partition key attribute of a table, or undefined when there is no such table. */
export type HashKeyOf = (table: string) => Promise<string | undefined>;

type Body = Record<string, any>;

/**
 * Partition key attributes read from the tables themselves (DescribeTable on
 * dynalite), once per table. A failed lookup is not remembered and fails the
 * request: an unknown key attribute would leave the leading keys empty, which
 * ForAllValues lets through.
 */
export function tableHashKeys(client: DynamoDBClient): HashKeyOf {
  const known = new Map<string, Promise<string | undefined>>();
  return (table) => {
    let key = known.get(table);
    if (!key) {
      key = client.send(new DescribeTableCommand({ TableName: table })).then(
        (out) => out.Table?.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName,
        (error: unknown) => {
          if (error instanceof ResourceNotFoundException) return undefined;
          known.delete(table);
          throw error;
        },
      );
      known.set(table, key);
    }
    return key;
  };
}

/**
 * The condition keys and operators local mode can evaluate. A grant with any
 * other one is refused when local mode starts, so a new condition can never be
 * ignored in silence (and pass locally, then fail on AWS).
 */
const SET_OPERATORS = ['ForAllValues', 'ForAnyValue'] as const;
const MATCHERS: Record<string, (value: string, pattern: string) => boolean> = {
  StringEquals: (value, pattern) => value === pattern,
  StringLike: (value, pattern) => globMatches(value, pattern, false),
};
const LEADING_KEYS = 'dynamodb:LeadingKeys';

export function assertEvaluable(grant: TableGrant): void {
  for (const condition of grant.conditions) {
    const [setOperator, matcher] = condition.test.split(':') as [string, string | undefined];
    if (condition.variable !== LEADING_KEYS || !matcher || !(SET_OPERATORS as readonly string[]).includes(setOperator) || !MATCHERS[matcher]) {
      throw new Error(
        `local mode cannot evaluate the condition ${condition.test} ${condition.variable} of grant ${grant.sid}: ` +
          `only ${SET_OPERATORS.join('/')}:${Object.keys(MATCHERS).join('/')} on ${LEADING_KEYS} (local/table-access.ts)`,
      );
    }
  }
}

/**
 * IAM's `*` and `?` wildcards (StringLike; case-sensitive). Actions compare
 * case-insensitively, as IAM compares them.
 */
function globMatches(value: string, pattern: string, ignoreCase: boolean): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

function conditionHolds(condition: GrantCondition, leadingKeys: readonly string[]): boolean {
  const [setOperator, matcherName] = condition.test.split(':') as [string, string];
  const matcher = MATCHERS[matcherName]!;
  const matches = (value: string) => condition.values.some((pattern) => matcher(value, pattern));
  // ForAllValues is also true when the request carries no value (IAM User Guide, "Single-valued vs.
  // multivalued context keys"): a Scan passes a leading-key condition, so only the action list keeps it out.
  return setOperator === 'ForAllValues' ? leadingKeys.every(matches) : leadingKeys.some(matches);
}

function keyValue(value: AttributeValue | undefined): string | undefined {
  if (!value) return undefined;
  const v = value as { S?: string; N?: string; B?: string };
  return v.S ?? v.N ?? v.B;
}

function keysOf(items: ReadonlyArray<Record<string, AttributeValue> | undefined>, hashKey: string | undefined): string[] {
  if (!hashKey) return [];
  return items.map((item) => keyValue(item?.[hashKey])).filter((v): v is string => v !== undefined);
}

/**
 * The partition key values a Query names: the `=` of its key condition
 * (expression or the legacy KeyConditions map).
 */
function queryKeys(body: Body, hashKey: string | undefined): string[] {
  if (!hashKey) return [];
  if (body.KeyConditions && typeof body.KeyConditions === 'object') {
    return keysOf([{ [hashKey]: body.KeyConditions[hashKey]?.AttributeValueList?.[0] }], hashKey);
  }
  if (typeof body.KeyConditionExpression !== 'string') return [];
  const names: Record<string, string> = body.ExpressionAttributeNames ?? {};
  const values: Record<string, AttributeValue> = body.ExpressionAttributeValues ?? {};
  const keys: string[] = [];
  for (const clause of body.KeyConditionExpression.split(/\s+and\s+/i)) {
    const match = /^\(*\s*([#:]?[\w.-]+)\s*=\s*([#:]?[\w.-]+)\s*\)*$/.exec(clause.trim());
    if (!match) continue;
    const [left, right] = [match[1]!, match[2]!];
    const attribute = (side: string) => (side.startsWith('#') ? names[side] : side.startsWith(':') ? undefined : side);
    const placeholder = attribute(left) === hashKey ? right : attribute(right) === hashKey ? left : undefined;
    const value = placeholder?.startsWith(':') ? keyValue(values[placeholder]) : undefined;
    if (value !== undefined) keys.push(value);
  }
  return keys;
}

/** What IAM authorizes for one DynamoDB API call (X-Amz-Target operation and JSON body). */
export async function tableRequests(operation: string, body: Body, hashKeyOf: HashKeyOf): Promise<TableRequest[]> {
  const single = async (action: string, table: unknown, keys: (hashKey: string | undefined) => string[], index?: unknown): Promise<TableRequest> => {
    const name = String(table ?? '*');
    return { action, table: name, ...(typeof index === 'string' ? { index } : {}), leadingKeys: keys(typeof table === 'string' ? await hashKeyOf(name) : undefined) };
  };
  const tables = <T>(map: unknown): Array<[string, T]> => (map && typeof map === 'object' ? Object.entries(map as Record<string, T>) : []);
  switch (operation) {
    case 'GetItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return [await single(`dynamodb:${operation}`, body.TableName, (hk) => keysOf([body.Key], hk))];
    case 'PutItem':
      return [await single('dynamodb:PutItem', body.TableName, (hk) => keysOf([body.Item], hk))];
    case 'Query':
      return [await single('dynamodb:Query', body.TableName, (hk) => queryKeys(body, hk), body.IndexName)];
    case 'Scan':
      return [await single('dynamodb:Scan', body.TableName, () => [], body.IndexName)];
    case 'BatchGetItem':
      return Promise.all(
        tables<{ Keys?: Record<string, AttributeValue>[] }>(body.RequestItems).map(([table, request]) =>
          single('dynamodb:BatchGetItem', table, (hk) => keysOf(request?.Keys ?? [], hk)),
        ),
      );
    case 'BatchWriteItem':
      return Promise.all(
        tables<Array<{ PutRequest?: { Item?: Record<string, AttributeValue> }; DeleteRequest?: { Key?: Record<string, AttributeValue> } }>>(body.RequestItems).map(
          ([table, writes]) => single('dynamodb:BatchWriteItem', table, (hk) => keysOf((writes ?? []).map((w) => w?.PutRequest?.Item ?? w?.DeleteRequest?.Key), hk)),
        ),
      );
    case 'TransactGetItems':
      return Promise.all(((body.TransactItems ?? []) as Body[]).map((t) => single('dynamodb:GetItem', t?.Get?.TableName, (hk) => keysOf([t?.Get?.Key], hk))));
    case 'TransactWriteItems': {
      // A transaction is authorized as its parts (DynamoDB Developer Guide, "Using IAM with DynamoDB transactions").
      const parts: Array<[string, string, 'Item' | 'Key']> = [
        ['Put', 'dynamodb:PutItem', 'Item'],
        ['Update', 'dynamodb:UpdateItem', 'Key'],
        ['Delete', 'dynamodb:DeleteItem', 'Key'],
        ['ConditionCheck', 'dynamodb:ConditionCheckItem', 'Key'],
      ];
      return Promise.all(
        ((body.TransactItems ?? []) as Body[]).flatMap((t) =>
          parts.filter(([part]) => t?.[part]).map(([part, action, field]) => single(action, t[part].TableName, (hk) => keysOf([t[part][field]], hk))),
        ),
      );
    }
    default:
      // Table-level and account-level calls (DescribeTable, ListTables...): the action decides. (PartiQL's
      // IAM actions are named PartiQLSelect and so on; a denial names the API operation instead.)
      return [await single(`dynamodb:${operation}`, body.TableName, () => [])];
  }
}

export function resourceArn(scope: AccessScope, request: TableRequest): string {
  return `arn:aws:dynamodb:${scope.region}:${scope.accountId}:table/${request.table}${request.index ? `/index/${request.index}` : ''}`;
}

export function principalArn(scope: AccessScope, principal: TablePrincipal): string {
  return `arn:aws:sts::${scope.accountId}:assumed-role/${principal.access.roleName}/${principal.sessionName}`;
}

/** Why the grant does not allow `request`, or undefined when it does. */
export function refusal(grant: TableGrant, scope: AccessScope, request: TableRequest): string | undefined {
  if (!grant.actions.some((action) => globMatches(request.action, action, true))) return `${request.action} is not among the granted actions (${grant.actions.join(', ')})`;
  if (request.table !== scope.tableName || request.index) return `the grant's resource is table/${scope.tableName} only`;
  for (const condition of grant.conditions) {
    if (!conditionHolds(condition, request.leadingKeys)) {
      const outside = request.leadingKeys.filter((key) => !conditionHolds(condition, [key]));
      return `partition key${outside.length === 1 ? '' : 's'} ${outside.map((k) => JSON.stringify(k)).join(', ')} outside ${condition.test} ${condition.variable} ${condition.values.join(', ')}`;
    }
  }
  return undefined;
}

/** The first of a call's authorizations the principal's grant refuses. */
export function authorize(principal: TablePrincipal, scope: AccessScope, requests: readonly TableRequest[]): Denial | undefined {
  for (const request of requests) {
    const reason = refusal(principal.access.grant, scope, request);
    if (reason) return { principal: principalArn(scope, principal), request, reason };
  }
  return undefined;
}

export interface ErrorResponse {
  readonly status: number;
  readonly body: string;
}

/**
 * What DynamoDB answers when IAM denies a call: HTTP 400, the coral
 * AccessDeniedException type and a capitalised `Message` naming the assumed
 * role, the action and the resource.
 */
export function accessDeniedResponse(scope: AccessScope, denial: Denial): ErrorResponse {
  const { action } = denial.request;
  return {
    status: 400,
    body: JSON.stringify({
      __type: 'com.amazon.coral.service#AccessDeniedException',
      Message: `User: ${denial.principal} is not authorized to perform: ${action} on resource: ${resourceArn(scope, denial.request)} because no identity-based policy allows the ${action} action`,
    }),
  };
}

/** What DynamoDB answers for credentials it does not know. */
export function unrecognizedClientResponse(): ErrorResponse {
  return {
    status: 400,
    body: JSON.stringify({ __type: 'com.amazon.coral.service#UnrecognizedClientException', message: 'The security token included in the request is invalid.' }),
  };
}

/** The access key id of a SigV4 `Authorization` header (`Credential=<id>/<date>/<region>/<service>/aws4_request`). */
export function accessKeyIdOf(authorization: string | undefined): string | undefined {
  return authorization ? /Credential=([^/,\s]+)\//.exec(authorization)?.[1] : undefined;
}

/**
 * The credentials a family's sandbox gets: an access key id of its own, by
 * which the proxy knows whose grant applies (as AWS knows the role from the
 * temporary credentials Lambda hands the function).
 */
export function processorCredentials(family: string, secretAccessKey: string): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: `ASIALOCAL-${family}`, secretAccessKey };
}
