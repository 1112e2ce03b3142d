/** Test helpers over synthesized Terraform JSON, for the modules' tests (and the cost model's). */
import { Testing } from 'cdktf';
import { FAMILIES } from '../../handlers/families.js';
import { buildApp } from '../../modules/app.js';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../modules/environments.js';
import type { PipelineStack } from '../../modules/pipeline-stack.js';

export type Block = Record<string, any>;

export interface TfJson {
  resource: Record<string, Record<string, Block>>;
  data?: Record<string, Record<string, Block>>;
  output?: Record<string, Block>;
  provider?: Record<string, Block[]>;
  terraform?: Block;
}

export function synthJson(stack: PipelineStack): TfJson {
  return JSON.parse(Testing.synth(stack)) as TfJson;
}

/**
 * The app's stacks, one per environment, and their Terraform JSON. Synthesis
 * is slow-ish, so a test file calls this once, in its beforeAll. The handler
 * bundles it zips come from the suite's global setup (test/global-setup.ts).
 */
export function synthesizeApp(): { stacks: PipelineStack[]; tf: Record<EnvironmentName, TfJson> } {
  const stacks = buildApp(Testing.app());
  const tf = {} as Record<EnvironmentName, TfJson>;
  for (const stack of stacks) tf[stack.environment.name] = synthJson(stack);
  return { stacks, tf };
}

/** Every family in every environment, with the name its resources carry, for `describe.each`. */
export const familyCases = ENVIRONMENT_NAMES.flatMap((env) => FAMILIES.map((family) => ({ env, family, name: `event-flow-${env}-${family.name}` })));

export function resources(tf: TfJson, type: string): Array<[string, Block]> {
  return Object.entries(tf.resource[type] ?? {});
}

/** The one resource of `type` matching `where`; fails loudly when there are none or several. */
export function one(tf: TfJson, type: string, where: (block: Block) => boolean): [string, Block] {
  const found = resources(tf, type).filter(([, block]) => where(block));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
}

export function named(tf: TfJson, type: string, name: string, field = 'name'): [string, Block] {
  return one(tf, type, (b) => b[field] === name);
}

/** The KMS key an alias (e.g. `alias/event-flow-dev`) points at. */
export function keyByAlias(tf: TfJson, alias: string): [string, Block] {
  const [, a] = named(tf, 'aws_kms_alias', alias);
  const id = /aws_kms_key\.([^.]+)\.key_id/.exec(a.target_key_id)![1]!;
  return [id, tf.resource.aws_kms_key![id]!];
}

/** A Terraform reference as cdktf renders it, e.g. `${aws_sqs_queue.x.arn}`. */
export function ref(type: string, id: string, attribute: string): string {
  return `\${${type}.${id}.${attribute}}`;
}

/** The policy-document data source a `policy`/`assume_role_policy` field points at. */
export function policyDoc(tf: TfJson, reference: string): Block {
  const match = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(reference);
  if (!match) throw new Error(`not a policy document reference: ${reference}`);
  const doc = tf.data?.aws_iam_policy_document?.[match[1]!];
  if (!doc) throw new Error(`no policy document ${match[1]}`);
  return doc;
}
