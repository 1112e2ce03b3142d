/**
 * Processors inside a VPC (the modular Terraform seed's `lambda_vpc_config`):
 * where they are placed, and the network-interface permissions their role
 * needs only then. Off by default: the processors reach every service they
 * use (Kinesis through the mapping, DynamoDB, EventBridge, SQS, CloudWatch)
 * over AWS's public endpoints, which needs no VPC, NAT or endpoints.
 */
import { Token } from 'cdktf';
import type { Statement } from './iam.js';

export interface ProcessorVpc {
  /**
   * Private subnets the processors' network interfaces go in (1 to 16; two or
   * more Availability Zones for resilience). Subnet ids or Terraform references.
   */
  readonly subnetIds: readonly string[];
  /** Security groups of those interfaces (1 to 5); they need outbound HTTPS to the VPC endpoints. */
  readonly securityGroupIds: readonly string[];
}

/** Lambda's VpcConfig bounds (Lambda API reference, VpcConfig: SubnetIds "Maximum number of 16 items", SecurityGroupIds "Maximum number of 5 items"). */
export const MAX_SUBNETS = 16;
export const MAX_SECURITY_GROUPS = 5;

export class InvalidVpcConfigError extends Error {
  override readonly name = 'InvalidVpcConfigError';
}

function checkIds(what: string, ids: readonly string[], prefix: string, max: number): void {
  if (ids.length < 1 || ids.length > max) throw new InvalidVpcConfigError(`${what}: between 1 and ${max} ids, got ${ids.length}`);
  for (const id of ids) {
    if (!Token.isUnresolved(id) && !new RegExp(`^${prefix}-[0-9a-f]{8,17}$`).test(id)) throw new InvalidVpcConfigError(`${what}: "${id}" is not a ${prefix}- id`);
  }
  if (new Set(ids).size !== ids.length) throw new InvalidVpcConfigError(`${what}: ids repeat`);
}

/** Checks a placement, so a typo fails at synth rather than at CreateFunction. */
export function validateProcessorVpc(vpc: ProcessorVpc): ProcessorVpc {
  checkIds('processor VPC subnetIds', vpc.subnetIds, 'subnet', MAX_SUBNETS);
  checkIds('processor VPC securityGroupIds', vpc.securityGroupIds, 'sg', MAX_SECURITY_GROUPS);
  return vpc;
}

/**
 * A placement from the environment (`EVENT_FLOW_PROCESSOR_SUBNET_IDS_<ENV>` and
 * `EVENT_FLOW_PROCESSOR_SECURITY_GROUP_IDS_<ENV>`, comma separated), so account
 * specific ids stay out of the repository; none when either is unset.
 */
export function processorVpcFromEnvironment(envName: string, variables: NodeJS.ProcessEnv = process.env): ProcessorVpc | undefined {
  const list = (name: string) => (variables[`${name}_${envName.toUpperCase()}`] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const subnetIds = list('EVENT_FLOW_PROCESSOR_SUBNET_IDS');
  const securityGroupIds = list('EVENT_FLOW_PROCESSOR_SECURITY_GROUP_IDS');
  if (subnetIds.length === 0 && securityGroupIds.length === 0) return undefined;
  return validateProcessorVpc({ subnetIds, securityGroupIds });
}

/** The function's `vpc_config`. */
export function lambdaVpcConfig(vpc: ProcessorVpc | undefined): { subnetIds: string[]; securityGroupIds: string[] } | undefined {
  if (!vpc) return undefined;
  validateProcessorVpc(vpc);
  return { subnetIds: [...vpc.subnetIds], securityGroupIds: [...vpc.securityGroupIds] };
}

/**
 * The actions of AWSLambdaVPCAccessExecutionRole that are about network
 * interfaces (its logs actions the role already has, scoped to its log group),
 * as narrowly as EC2 lets each one be scoped. Source: AWS Lambda Developer
 * Guide, "Giving Lambda functions access to resources in an Amazon VPC",
 * execution role permissions.
 */
export function vpcAccessStatements(vpc: ProcessorVpc, region: string, accountId: string): Statement[] {
  const ec2 = `arn:aws:ec2:${region}:${accountId}`;
  return [
    {
      // CreateNetworkInterface is authorised on the new interface and on the subnet and security groups it uses.
      sid: 'CreateInterfacesInOwnSubnets',
      effect: 'Allow',
      actions: ['ec2:CreateNetworkInterface'],
      resources: [`${ec2}:network-interface/*`, ...vpc.subnetIds.map((id) => `${ec2}:subnet/${id}`), ...vpc.securityGroupIds.map((id) => `${ec2}:security-group/${id}`)],
    },
    {
      // The guide: without a resource id or "all resource ids" (arn:aws:ec2:<region>:<account>:*/*) here, the function may lose VPC access.
      sid: 'ManageOwnInterfaces',
      effect: 'Allow',
      actions: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
      resources: [`${ec2}:*/*`],
    },
    {
      // Describe calls have no resource-level permissions: the guide says they work only with "Resource": "*".
      sid: 'DescribeInterfaces',
      effect: 'Allow',
      actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      resources: ['*'],
    },
  ];
}

/** Actions that AWS accepts only on `"Resource": "*"` (for least-privilege checks). */
export const VPC_WILDCARD_ACTIONS = ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'] as const;
