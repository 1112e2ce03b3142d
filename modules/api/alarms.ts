/** The API's alarms: refusals above a fifth of requests (a broken client or schema), and any 5xx (events not accepted). */
import type { Construct } from 'constructs';
import { pagingAlarm } from '../alarm.js';

export function buildApiAlarms(scope: Construct, props: { apiName: string; stageName: string; alarmTopicArn: string }): void {
  const dimensions = { ApiName: props.apiName, Stage: props.stageName };
  pagingAlarm(scope, 'alarm-4xx-rate', props.alarmTopicArn, {
    alarmName: `${props.apiName}-4xx-rate`,
    alarmDescription: 'More than 20 % of requests were refused (invalid bodies, unknown routes, throttling): a client or a schema is broken.',
    namespace: 'AWS/ApiGateway',
    metricName: '4XXError',
    dimensions,
    // The Average of 4XXError is the fraction of requests that got a 4xx.
    statistic: 'Average',
    period: 300,
    evaluationPeriods: 1,
    threshold: 0.2,
  });
  pagingAlarm(scope, 'alarm-5xx', props.alarmTopicArn, {
    alarmName: `${props.apiName}-5xx`,
    alarmDescription: 'The events API answered 5xx: events were not accepted.',
    namespace: 'AWS/ApiGateway',
    metricName: '5XXError',
    dimensions,
    statistic: 'Sum',
    period: 300,
    evaluationPeriods: 1,
    threshold: 0,
  });
}
