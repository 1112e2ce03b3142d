/**
 * Small helpers shared by the constructs: IAM policy documents (always through
 * `aws_iam_policy_document`, so Terraform renders and normalises the JSON) and
 * escaping literal text for Terraform.
 */
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import type { Construct } from 'constructs';

export type Statement = DataAwsIamPolicyDocumentStatement;

export function policyDocument(scope: Construct, id: string, statements: Statement[]): DataAwsIamPolicyDocument {
  return new DataAwsIamPolicyDocument(scope, id, { statement: statements });
}

/**
 * A role only the given AWS service may assume. `conditions` guard against the
 * confused deputy; pass only keys the service documents that it supplies when
 * it assumes the role (a condition it does not supply makes the role unusable).
 */
export function serviceRole(scope: Construct, id: string, name: string, service: string, conditions?: Statement['condition']): IamRole {
  const trust = policyDocument(scope, `${id}-trust`, [
    { effect: 'Allow', actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: [service] }], condition: conditions },
  ]);
  return new IamRole(scope, id, { name, assumeRolePolicy: trust.json });
}

/** Denies every request that does not arrive over TLS (a resource policy statement). */
export function denyInsecureTransport(actions: string[], resources: string[]): Statement {
  return {
    sid: 'DenyInsecureTransport',
    effect: 'Deny',
    principals: [{ type: '*', identifiers: ['*'] }],
    actions,
    resources,
    condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
  };
}

/**
 * Terraform reads `${` and `%{` in any string as template syntax. VTL templates
 * and JSON schemas are literal text, so those sequences are doubled (Terraform's
 * escape) before they reach the synthesized JSON.
 */
export function tfLiteral(text: string): string {
  // Replacement functions, because `$$` in a replacement string means one `$`.
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/** Inverse of tfLiteral: what Terraform will hand to AWS. */
export function fromTfLiteral(text: string): string {
  return text.replace(/\$\$\{/g, () => '${').replace(/%%\{/g, () => '%{');
}
