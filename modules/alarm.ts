/**
 * How every alarm of the stacks behaves: it fires above its threshold, treats
 * missing data as fine (an idle pipeline publishes nothing and is not an
 * incident), and tells the alarm topic both when it fires and when it clears.
 */
import { CloudwatchMetricAlarm, type CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import type { Construct } from 'constructs';

export type AboveThresholdAlarm = Omit<CloudwatchMetricAlarmConfig, 'comparisonOperator' | 'treatMissingData' | 'alarmActions' | 'okActions'>;

export function pagingAlarm(scope: Construct, id: string, topicArn: string, config: AboveThresholdAlarm): CloudwatchMetricAlarm {
  return new CloudwatchMetricAlarm(scope, id, {
    comparisonOperator: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
    alarmActions: [topicArn],
    okActions: [topicArn],
    ...config,
  });
}
