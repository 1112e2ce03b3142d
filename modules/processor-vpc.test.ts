/**
 * Processors in a VPC, synthesized both ways: without a placement (the
 * default) no function has a vpc_config and no role any EC2 permission; with
 * one per environment or per family, exactly those functions are placed and
 * exactly their roles get the network-interface permissions, scoped.
 */
import { Testing } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { FAMILIES } from '../handlers/families.js';
import { orders } from '../handlers/orders/family.js';
import { payments } from '../handlers/payments/family.js';
import { addFamilies } from './app.js';
import { ENVIRONMENTS, type EnvironmentConfig } from './environments.js';
import { EventFamily } from './event-family.js';
import { PipelineStack } from './pipeline-stack.js';
import {
  InvalidVpcConfigError,
  VPC_WILDCARD_ACTIONS,
  processorVpcFromEnvironment,
  validateProcessorVpc,
  type ProcessorVpc,
} from './processor-vpc.js';
import { policyDoc, resources, synthJson, type Block, type TfJson } from '../test/support/synthesized.js';

const VPC: ProcessorVpc = { subnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-0123456789abcdef0'], securityGroupIds: ['sg-0fedcba9876543210'] };

function withVpc(env: EnvironmentConfig, vpc: ProcessorVpc | undefined): EnvironmentConfig {
  return { ...env, processor: { ...env.processor, vpc } };
}

/** Per processor function: its vpc_config and every statement of its role's policies. */
function processors(tf: TfJson): Map<string, { vpc?: Block; statements: Block[] }> {
  const result = new Map<string, { vpc?: Block; statements: Block[] }>();
  const policies = resources(tf, 'aws_iam_role_policy');
  for (const [, fn] of resources(tf, 'aws_lambda_function')) {
    const roleId = /^\$\{aws_iam_role\.([^.]+)\.arn\}$/.exec(fn.role)![1]!;
    const statements = policies
      .filter(([, p]) => p.role === `\${aws_iam_role.${roleId}.id}`)
      .flatMap(([, p]) => policyDoc(tf, p.policy).statement as Block[]);
    result.set(fn.function_name, { vpc: fn.vpc_config, statements });
  }
  return result;
}

const ec2Statements = (statements: Block[]) => statements.filter((s) => (s.actions as string[]).some((a) => a.startsWith('ec2:')));

describe('processors without a VPC (default)', () => {
  it.each(['dev', 'staging', 'prod'] as const)('%s: no vpc_config, no EC2 permission', (name) => {
    const stack = new PipelineStack(Testing.app(), ENVIRONMENTS[name]);
    addFamilies(stack);
    const found = processors(synthJson(stack));
    expect(found.size).toBe(FAMILIES.length);
    for (const [fn, p] of found) {
      expect(p.vpc, fn).toBeUndefined();
      expect(ec2Statements(p.statements), fn).toEqual([]);
    }
  });
});

describe('processors in a VPC', () => {
  it('per environment: every processor in the given subnets and groups, its role with scoped interface permissions', () => {
    const stack = new PipelineStack(Testing.app(), withVpc(ENVIRONMENTS.staging, VPC));
    addFamilies(stack);
    const found = processors(synthJson(stack));
    expect(found.size).toBe(FAMILIES.length);
    for (const [fn, p] of found) {
      expect(p.vpc, fn).toMatchObject({ subnet_ids: VPC.subnetIds, security_group_ids: VPC.securityGroupIds });
      const ec2 = ec2Statements(p.statements);
      // AWSLambdaVPCAccessExecutionRole's network-interface actions, each once.
      expect(ec2.flatMap((s) => s.actions as string[]).sort()).toEqual(
        ['ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:UnassignPrivateIpAddresses'].sort(),
      );
      const create = ec2.find((s) => (s.actions as string[]).includes('ec2:CreateNetworkInterface'))!;
      const arn = (type: string, id: string) => expect.stringMatching(new RegExp(`^arn:aws:ec2:${ENVIRONMENTS.staging.region}:.+:${type}/${id}$`));
      expect(create.resources).toEqual([arn('network-interface', '\\*'), ...VPC.subnetIds.map((id) => arn('subnet', id)), ...VPC.securityGroupIds.map((id) => arn('security-group', id))]);
      // Only the Describe actions, which EC2 authorises on "*" alone, are unscoped.
      for (const s of ec2) {
        if ((s.resources as string[]).includes('*')) expect([...VPC_WILDCARD_ACTIONS]).toEqual(expect.arrayContaining(s.actions as string[]));
        else for (const r of s.resources as string[]) expect(r).toMatch(new RegExp(`^arn:aws:ec2:${ENVIRONMENTS.staging.region}:`));
      }
    }
  });

  it('per family: only that processor is placed and only its role can manage interfaces; a family can opt out of the environment one', () => {
    const stack = new PipelineStack(Testing.app(), ENVIRONMENTS.dev);
    new EventFamily(stack, orders.name, { host: stack, family: orders, processor: { vpc: VPC } });
    new EventFamily(stack, payments.name, { host: stack, family: payments });
    const found = processors(synthJson(stack));
    expect(found.get('event-flow-dev-orders')!.vpc).toMatchObject({ subnet_ids: VPC.subnetIds });
    expect(ec2Statements(found.get('event-flow-dev-orders')!.statements)).not.toEqual([]);
    expect(found.get('event-flow-dev-payments')!.vpc).toBeUndefined();
    expect(ec2Statements(found.get('event-flow-dev-payments')!.statements)).toEqual([]);

    const placed = new PipelineStack(Testing.app(), withVpc(ENVIRONMENTS.dev, VPC));
    new EventFamily(placed, orders.name, { host: placed, family: orders, processor: { vpc: undefined } });
    new EventFamily(placed, payments.name, { host: placed, family: payments });
    const mixed = processors(synthJson(placed));
    expect(mixed.get('event-flow-dev-orders')!.vpc).toBeUndefined();
    expect(ec2Statements(mixed.get('event-flow-dev-orders')!.statements)).toEqual([]);
    expect(mixed.get('event-flow-dev-payments')!.vpc).toMatchObject({ security_group_ids: VPC.securityGroupIds });
  });
});

describe('placement settings', () => {
  it('reads ids from EVENT_FLOW_PROCESSOR_SUBNET_IDS_<ENV> and _SECURITY_GROUP_IDS_<ENV>, none when unset', () => {
    expect(processorVpcFromEnvironment('prod', {})).toBeUndefined();
    expect(
      processorVpcFromEnvironment('prod', {
        EVENT_FLOW_PROCESSOR_SUBNET_IDS_PROD: 'subnet-0a1b2c3d4e5f60718, subnet-0123456789abcdef0',
        EVENT_FLOW_PROCESSOR_SECURITY_GROUP_IDS_PROD: 'sg-0fedcba9876543210',
      }),
    ).toEqual(VPC);
    // Subnets without a security group cannot be placed.
    expect(() => processorVpcFromEnvironment('prod', { EVENT_FLOW_PROCESSOR_SUBNET_IDS_PROD: 'subnet-0a1b2c3d4e5f60718' })).toThrow(InvalidVpcConfigError);
  });

  it("refuses what Lambda's VpcConfig refuses (1-16 subnets, 1-5 security groups) and ids that are not ids", () => {
    // Lambda API reference, VpcConfig: SubnetIds "Maximum number of 16 items", SecurityGroupIds "Maximum number of 5 items".
    const subnets = (n: number) => Array.from({ length: n }, (_, i) => `subnet-${String(i).padStart(8, '0')}`);
    const groups = (n: number) => Array.from({ length: n }, (_, i) => `sg-${String(i).padStart(8, '0')}`);
    expect(() => validateProcessorVpc({ subnetIds: subnets(16), securityGroupIds: groups(5) })).not.toThrow();
    expect(() => validateProcessorVpc({ subnetIds: subnets(17), securityGroupIds: groups(1) })).toThrow(/between 1 and 16/);
    expect(() => validateProcessorVpc({ subnetIds: subnets(1), securityGroupIds: groups(6) })).toThrow(/between 1 and 5/);
    expect(() => validateProcessorVpc({ subnetIds: [], securityGroupIds: groups(1) })).toThrow(InvalidVpcConfigError);
    expect(() => validateProcessorVpc({ subnetIds: ['sg-00000000'], securityGroupIds: groups(1) })).toThrow(/not a subnet- id/);
    expect(() => validateProcessorVpc({ subnetIds: [subnets(1)[0]!, subnets(1)[0]!], securityGroupIds: groups(1) })).toThrow(/repeat/);
  });
});
