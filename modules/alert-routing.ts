/**
 * What of the alert bus leaves the system: the rules that forward alerts to
 * the alerts topic (and so to its e-mail subscribers). Business alerts go as
 * they are; a MalformedEvent carries the raw record (up to 32 KiB of
 * `raw_data`), so it goes through an input transformer that keeps only a
 * pointer to the record (its malformed-sink table key and its stream
 * position), never the data.
 */
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { Fn } from 'cdktf';
import type { Construct } from 'constructs';
import { tfLiteral } from './iam.js';

export const MALFORMED_ALERT_TYPE = 'MalformedEvent';

/**
 * Input paths of the MalformedEvent notice. Only identifiers, enums and
 * numbers: EventBridge inserts a path's value verbatim, so free text (the
 * message, the schema issues) could break the template's JSON.
 */
export const MALFORMED_NOTICE_PATHS: Readonly<Record<string, string>> = {
  alertId: '$.detail.alert_id',
  alertType: '$.detail.alert_type',
  severity: '$.detail.severity',
  family: '$.detail.family',
  timestamp: '$.detail.timestamp',
  reason: '$.detail.details.reason',
  rawLength: '$.detail.details.raw_length',
  record: '$.detail.details.record_key',
  source: '$.detail.source',
};

/**
 * The notice: strings in quotes, objects and numbers bare (EventBridge's
 * InputTemplate rules, "Amazon EventBridge input transformation",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).
 */
export const MALFORMED_NOTICE_TEMPLATE = [
  '{',
  '"alert_id": "<alertId>",',
  '"alert_type": "<alertType>",',
  '"severity": "<severity>",',
  '"family": "<family>",',
  '"timestamp": "<timestamp>",',
  '"reason": "<reason>",',
  '"raw_length": <rawLength>,',
  '"record": <record>,',
  '"source": <source>,',
  '"note": "The raw record is kept in the table under record.pk / record.sk until it expires; it is not sent by e-mail."',
  '}',
].join('\n');

export interface AlertRulesProps {
  readonly namePrefix: string;
  readonly busName: string;
  readonly accountId: string;
}

export interface AlertRules {
  /** Business alerts, forwarded as they are. */
  readonly alerts: CloudwatchEventRule;
  /** Malformed-record notices, forwarded as a pointer to the kept record. */
  readonly malformed: CloudwatchEventRule;
}

/** The two rules; their targets come once the topic, whose policy names the rules, exists. */
export function alertRules(scope: Construct, props: AlertRulesProps): AlertRules {
  const { namePrefix, busName, accountId } = props;
  // jsonencode() rather than JSON.stringify: the account id is a Terraform reference.
  const alerts = new CloudwatchEventRule(scope, 'alert-rule', {
    name: `${namePrefix}-alerts-to-sns`,
    description: 'Every alert the processors publish, except malformed-record notices, goes to the alerts topic as it is.',
    eventBusName: busName,
    eventPattern: Fn.jsonencode({ account: [accountId], 'detail-type': [{ 'anything-but': MALFORMED_ALERT_TYPE }] }),
  });
  const malformed = new CloudwatchEventRule(scope, 'malformed-rule', {
    name: `${namePrefix}-malformed-to-sns`,
    description: 'Malformed-record notices go to the alerts topic as a pointer to the record, without its raw data.',
    eventBusName: busName,
    eventPattern: Fn.jsonencode({ account: [accountId], 'detail-type': [MALFORMED_ALERT_TYPE] }),
  });
  return { alerts, malformed };
}

export interface AlertTargetsProps {
  readonly busName: string;
  readonly topicArn: string;
  /** Where EventBridge keeps what it could not deliver. */
  readonly deadLetterQueueArn: string;
}

export function routeAlertsToTopic(scope: Construct, rules: AlertRules, props: AlertTargetsProps): void {
  const { busName, topicArn, deadLetterQueueArn } = props;
  const delivery = {
    eventBusName: busName,
    arn: topicArn,
    // EventBridge's defaults, stated: retried for 24 hours (185 attempts), then kept in the queue.
    retryPolicy: { maximumEventAgeInSeconds: 86_400, maximumRetryAttempts: 185 },
    deadLetterConfig: { arn: deadLetterQueueArn },
  };
  new CloudwatchEventTarget(scope, 'alert-target', { ...delivery, rule: rules.alerts.name });
  new CloudwatchEventTarget(scope, 'malformed-target', {
    ...delivery,
    rule: rules.malformed.name,
    inputTransformer: { inputPaths: { ...MALFORMED_NOTICE_PATHS }, inputTemplate: tfLiteral(MALFORMED_NOTICE_TEMPLATE) },
  });
}
