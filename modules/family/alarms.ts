/** The processor's and the stream's alarms; the failure bucket's own alarm lives with it (failure-destination.ts). */
import type { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import type { Construct } from 'constructs';
import { pagingAlarm, type AboveThresholdAlarm } from '../alarm.js';
import type { AlarmSettings } from './settings.js';

/**
 * Metric the processors publish (EMF via Powertools: dimensions `service` and
 * `family`) for every record they cannot parse or validate. A metric query
 * must name the exact dimension set the metric was published with.
 */
export const MALFORMED_METRIC = 'MalformedEvents';

export interface FamilyAlarmsProps {
  /** `<project>-<env>-<family>`: the function's and the stream's name, and the alarms' prefix. */
  readonly name: string;
  readonly familyName: string;
  /** Where the processors publish their EMF metrics. */
  readonly metricsNamespace: string;
  /** Notified when an alarm fires and when it clears. */
  readonly alarmTopicArn: string;
  readonly settings: AlarmSettings;
}

export function buildAlarms(scope: Construct, props: FamilyAlarmsProps): CloudwatchMetricAlarm[] {
  const { name, settings: cfg } = props;
  const alarm = (id: string, description: string, config: Omit<AboveThresholdAlarm, 'alarmName'>) =>
    pagingAlarm(scope, `alarm-${id}`, props.alarmTopicArn, { alarmName: `${name}-${id}`, alarmDescription: description, ...config });
  const fn = { FunctionName: name };
  return [
    alarm('iterator-age', `The processor is more than ${cfg.iteratorAgeSeconds} s behind the stream.`, {
      namespace: 'AWS/Lambda',
      metricName: 'IteratorAge',
      dimensions: fn,
      statistic: 'Maximum',
      period: 60,
      // Three minutes in a row: one slow batch is not an incident.
      evaluationPeriods: 3,
      threshold: cfg.iteratorAgeSeconds * 1000,
    }),
    alarm('errors', 'The processor failed invocations (crashes or timeouts, not malformed events).', {
      namespace: 'AWS/Lambda',
      metricName: 'Errors',
      dimensions: fn,
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
    }),
    alarm('throttles', 'The processor was throttled (reserved or account concurrency exhausted).', {
      namespace: 'AWS/Lambda',
      metricName: 'Throttles',
      dimensions: fn,
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
    }),
    alarm('write-throughput-exceeded', 'Writes to the stream were throttled: add shards or switch to on-demand.', {
      namespace: 'AWS/Kinesis',
      metricName: 'WriteProvisionedThroughputExceeded',
      dimensions: { StreamName: name },
      statistic: 'Sum',
      period: 60,
      evaluationPeriods: 1,
      threshold: 0,
    }),
    alarm('malformed-rate', `More than ${cfg.malformedPercent} % of incoming events are malformed.`, {
      threshold: cfg.malformedPercent,
      evaluationPeriods: 1,
      metricQuery: [
        {
          id: 'malformed',
          metric: {
            namespace: props.metricsNamespace,
            metricName: MALFORMED_METRIC,
            dimensions: { service: props.familyName, family: props.familyName },
            stat: 'Sum',
            period: 300,
          },
        },
        {
          id: 'incoming',
          metric: { namespace: 'AWS/Kinesis', metricName: 'IncomingRecords', dimensions: { StreamName: name }, stat: 'Sum', period: 300 },
        },
        {
          id: 'rate',
          label: 'Malformed events (%)',
          expression: 'IF(incoming > 0, 100 * FILL(malformed, 0) / incoming, 0)',
          returnData: true,
        },
      ],
    }),
  ];
}
