/**
 * Least privilege, checked over every IAM policy document in every stack: no
 * Allow statement grants `*` or a whole service (`svc:*`), and none names the
 * resource `*` where the resource has an ARN. The few places where AWS accepts
 * nothing but `*` are listed here, each with its reason, and must match exactly.
 * The walk sees every policy only because each one is rendered from an
 * aws_iam_policy_document (policyDocument() in modules/iam.ts), checked first;
 * last, every resource policy refuses non-TLS access (denyInsecureTransport()).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentName } from './environments.js';
import type { PipelineStack } from './pipeline-stack.js';
import { synthesizeApp, type Block, type TfJson } from '../test/support/synthesized.js';

let stacks: PipelineStack[];
let tf: Record<EnvironmentName, TfJson>;

beforeAll(() => {
  ({ stacks, tf } = synthesizeApp());
});

interface Allowed {
  readonly sid: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly why: string;
}

const ALLOW_LIST: readonly Allowed[] = [
  {
    sid: 'WriteTraces',
    actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
    resources: ['*'],
    why: 'X-Ray has no resource-level permissions for these actions; AWS only accepts "*".',
  },
  {
    sid: 'AccountAdministersKeyThroughIam',
    actions: ['kms:*'],
    resources: ['*'],
    why: 'A KMS key policy: "*" means this key. Without the account statement the key becomes unmanageable (AWS default key policy).',
  },
  {
    sid: 'CloudWatchAlarmsPublishToAlarmTopic',
    actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    resources: ['*'],
    why: 'A KMS key policy: "*" means this key, which encrypts notifications only (SNS guide, encrypted topics and AWS event sources).',
  },
  {
    sid: 'EventBridgeDeliversAlerts',
    actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    resources: ['*'],
    why: 'A KMS key policy: "*" means this key, which encrypts notifications only; EventBridge supplies no source keys to KMS.',
  },
];

/** Resource fields that hold a policy; every one must come from an aws_iam_policy_document. */
const POLICY_FIELDS: Record<string, string> = {
  aws_iam_role: 'assume_role_policy',
  aws_iam_role_policy: 'policy',
  aws_sqs_queue_policy: 'policy',
  aws_sns_topic_policy: 'policy',
  aws_s3_bucket_policy: 'policy',
  aws_kms_key: 'policy',
};

const policyStacks = (): Array<[string, TfJson]> => stacks.map((s) => [s.node.id, tf[s.environment.name]]);

function statements(tf: TfJson): Array<[string, Block]> {
  return Object.entries(tf.data?.aws_iam_policy_document ?? {}).flatMap(([id, doc]) => (doc.statement as Block[]).map((s): [string, Block] => [id, s]));
}

describe('IAM policies in every stack', () => {
  it('every policy is rendered from an aws_iam_policy_document (none hand-written inline)', () => {
    for (const [, tf] of policyStacks()) {
      for (const [type, field] of Object.entries(POLICY_FIELDS)) {
        for (const [id, block] of Object.entries(tf.resource[type] ?? {})) {
          if (type === 'aws_iam_role') expect(block.inline_policy, id).toBeUndefined();
          expect(block[field], `${type}.${id}.${field}`).toMatch(/^\$\{data\.aws_iam_policy_document\.[^.]+\.json\}$/);
        }
      }
    }
  });

  it('no Allow statement grants "*" or a whole service, and none targets "*", outside the documented allow-list', () => {
    let checked = 0;
    const allowListUsed = new Set<string>();
    for (const [stackName, tf] of policyStacks()) {
      for (const [docId, statement] of statements(tf)) {
        if (statement.effect === 'Deny') continue;
        checked++;
        const where = `${stackName} ${docId} ${statement.sid ?? '(no sid)'}`;
        const actions: string[] = statement.actions ?? [];
        const resourcesList: string[] = statement.resources ?? [];
        expect(statement.not_actions, where).toBeUndefined();
        expect(statement.not_resources, where).toBeUndefined();
        const isTrust = actions.every((a) => a === 'sts:AssumeRole') && statement.principals !== undefined;
        if (isTrust) {
          // Trust policies name a service principal, never anyone.
          for (const p of statement.principals as Block[]) expect(p.identifiers, where).not.toContain('*');
          continue;
        }
        expect(actions.length, where).toBeGreaterThan(0);
        expect(resourcesList.length, where).toBeGreaterThan(0);
        const wide = actions.some((a) => a === '*' || a.endsWith(':*')) || resourcesList.includes('*');
        if (!wide) continue;
        const allowed = ALLOW_LIST.find((a) => a.sid === statement.sid);
        expect(allowed, `${where}: wildcard action or resource not on the allow-list`).toBeDefined();
        expect([...actions].sort(), where).toEqual([...allowed!.actions].sort());
        expect(resourcesList, where).toEqual(allowed!.resources);
        allowListUsed.add(allowed!.sid);
      }
    }
    expect(checked).toBeGreaterThan(100);
    // Every allow-list entry is still needed (prod traces, every key policy).
    expect([...allowListUsed].sort()).toEqual(ALLOW_LIST.map((a) => a.sid).sort());
  });

  it('resource policies deny non-TLS access on every queue, topic and bucket', () => {
    for (const [stackName, tf] of policyStacks()) {
      const docs = tf.data!.aws_iam_policy_document!;
      for (const type of ['aws_sqs_queue_policy', 'aws_sns_topic_policy', 'aws_s3_bucket_policy']) {
        for (const [id, block] of Object.entries(tf.resource[type] ?? {})) {
          const docId = /data\.aws_iam_policy_document\.([^.]+)\.json/.exec(block.policy)![1]!;
          const deny = (docs[docId]!.statement as Block[]).find((s) => s.sid === 'DenyInsecureTransport');
          expect(deny, `${stackName} ${type}.${id}`).toMatchObject({
            effect: 'Deny',
            condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
          });
        }
      }
    }
  });
});
