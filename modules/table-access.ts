/**
 * A processor's permissions on the event table, as plain data. The
 * EventFamily construct synthesizes its role's IAM statement from this object
 * and local mode enforces the very same object on every DynamoDB request the
 * processor sends (local/table-access.ts), so the leading-key pattern and the
 * action list are written once.
 */
import type { Statement } from './iam.js';

/**
 * The DynamoDB actions the processors call (handlers/runtime/store.ts:
 * BatchGetItem, GetItem, PutItem, BatchWriteItem); a test compares this list
 * with the commands the code sends.
 */
export const PROCESSOR_TABLE_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'] as const;

/** One IAM condition block (`test` is the operator, e.g. `ForAllValues:StringLike`). */
export interface GrantCondition {
  readonly test: string;
  readonly variable: string;
  readonly values: readonly string[];
}

/** An Allow statement on the event table, without its resource (a Terraform reference in the stack). */
export interface TableGrant {
  readonly sid: string;
  readonly actions: readonly string[];
  readonly conditions: readonly GrantCondition[];
}

export interface TableAccess {
  /** The processor's IAM role: the principal an access denial names. */
  readonly roleName: string;
  readonly grant: TableGrant;
}

/**
 * The processor of `family`, deployed as `functionName`, may call the
 * runtime's four actions on items whose partition key starts with
 * `<family>#` and nothing else: a processor cannot touch another family's
 * items, and a key built without the prefix is refused.
 */
export function processorTableAccess(family: string, functionName: string): TableAccess {
  return {
    roleName: `${functionName}-processor`,
    grant: {
      sid: 'WriteOwnKeyPrefix',
      actions: [...PROCESSOR_TABLE_ACTIONS],
      conditions: [{ test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: [`${family}#*`] }],
    },
  };
}

/** The grant as a statement of an `aws_iam_policy_document`. */
export function grantStatement(grant: TableGrant, tableArn: string): Statement {
  return {
    sid: grant.sid,
    effect: 'Allow',
    actions: [...grant.actions],
    resources: [tableArn],
    condition: grant.conditions.map((c) => ({ test: c.test, variable: c.variable, values: [...c.values] })),
  };
}
