/**
 * One CloudWatch dashboard per environment: the alarms' states, the API, and
 * per family the stream, the processor's EMF outcome metrics, the on-failure
 * destination and the function. The body is built when the stack is
 * synthesized, so every family added after the stack (and every alarm any
 * construct created) is on it.
 */
import { FAILURE_METRIC_FILTER } from './failure-destination.js';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard/index.js';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { Lazy, TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from './environments.js';
import type { EventFamily } from './event-family.js';
import type { EventsApi } from './events-api.js';

/** The processors' EMF metrics (handlers/runtime/outcome.ts), published with dimensions `service` and `family`. */
export const OUTCOME_METRICS = ['ProcessedEvents', 'FailedEvents', 'MalformedEvents', 'DuplicateEvents'] as const;

/** PutDashboard: an alarm status widget lists at most 100 alarms (CloudWatch dashboard body structure, "alarms"). */
export const MAX_ALARMS_PER_WIDGET = 100;
/** PutDashboard: a dashboard holds at most 500 widgets (CloudWatch User Guide, "CloudWatch dashboards" quotas). */
export const MAX_WIDGETS = 500;

export interface DashboardFamily {
  readonly name: string;
  readonly streamName: string;
  readonly functionName: string;
  /** The family's failure bucket (S3 on-failure destination). */
  readonly failureBucketName: string;
}

export interface DashboardInput {
  readonly region: string;
  readonly metricsNamespace: string;
  readonly apiName: string;
  readonly stageName: string;
  readonly families: readonly DashboardFamily[];
  /** ARNs of the alarms to show (Terraform references are fine: they are interpolated into the body). */
  readonly alarmArns: readonly string[];
  /**
   * Period of the metric widgets, in seconds.
   * @default 60
   */
  readonly periodSeconds?: number;
}

type MetricRow = Array<string | Record<string, unknown>>;

export interface Widget {
  readonly type: 'metric' | 'alarm' | 'text';
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: Record<string, unknown>;
}

const GRID_WIDTH = 24;
const TILE = { width: 6, height: 6 };

/** The dashboard body (CloudWatch dashboard body structure), as a plain object. */
export function dashboardBody(input: DashboardInput): { widgets: Widget[] } {
  const period = input.periodSeconds ?? 60;
  const widgets: Widget[] = [];
  let y = 0;
  const heading = (markdown: string) => {
    widgets.push({ type: 'text', x: 0, y, width: GRID_WIDTH, height: 1, properties: { markdown } });
    y += 1;
  };
  const tiles = (row: Array<{ title: string; metrics: MetricRow[]; stat?: string; yAxisLabel?: string }>) => {
    row.forEach((tile, i) => {
      const x = (i * TILE.width) % GRID_WIDTH;
      const rowY = y + Math.floor((i * TILE.width) / GRID_WIDTH) * TILE.height;
      widgets.push({
        type: 'metric',
        x,
        y: rowY,
        ...TILE,
        properties: {
          title: tile.title,
          region: input.region,
          view: 'timeSeries',
          stacked: false,
          period,
          stat: tile.stat ?? 'Sum',
          metrics: tile.metrics,
        },
      });
    });
    y += Math.ceil((row.length * TILE.width) / GRID_WIDTH) * TILE.height;
  };

  for (let start = 0, n = 1; start < Math.max(1, input.alarmArns.length); start += MAX_ALARMS_PER_WIDGET, n += 1) {
    const alarms = input.alarmArns.slice(start, start + MAX_ALARMS_PER_WIDGET);
    const title = input.alarmArns.length > MAX_ALARMS_PER_WIDGET ? `Alarms (${n})` : 'Alarms';
    widgets.push({ type: 'alarm', x: 0, y, width: GRID_WIDTH, height: 4, properties: { title, alarms, sortBy: 'stateUpdatedTimestamp', states: [] } });
    y += 4;
  }

  const api = ['AWS/ApiGateway'];
  const apiDims = ['ApiName', input.apiName, 'Stage', input.stageName];
  heading(`## API \`${input.apiName}\` (stage ${input.stageName})`);
  tiles([
    { title: 'API requests', metrics: [[...api, 'Count', ...apiDims, { label: 'requests' }]] },
    {
      title: 'API 4xx / 5xx',
      metrics: [
        [...api, '4XXError', ...apiDims, { label: '4xx' }],
        [...api, '5XXError', ...apiDims, { label: '5xx' }],
      ],
    },
    {
      title: 'API latency (ms)',
      stat: 'p99',
      metrics: [
        [...api, 'Latency', ...apiDims, { stat: 'p50', label: 'latency p50' }],
        [...api, 'Latency', ...apiDims, { stat: 'p99', label: 'latency p99' }],
        [...api, 'IntegrationLatency', ...apiDims, { stat: 'p99', label: 'Kinesis integration p99' }],
      ],
    },
  ]);

  for (const family of input.families) {
    const stream = ['AWS/Kinesis', 'IncomingRecords', 'StreamName', family.streamName];
    const fn = ['FunctionName', family.functionName];
    const outcome = (metric: string): MetricRow => [input.metricsNamespace, metric, 'service', family.name, 'family', family.name, { label: metric }];
    heading(`## ${family.name}: stream \`${family.streamName}\`, processor \`${family.functionName}\``);
    tiles([
      {
        title: `${family.name}: incoming records and bytes`,
        metrics: [
          [...stream, { label: 'records' }],
          ['AWS/Kinesis', 'IncomingBytes', 'StreamName', family.streamName, { label: 'bytes', yAxis: 'right' }],
        ],
      },
      {
        title: `${family.name}: iterator age (ms)`,
        stat: 'Maximum',
        metrics: [['AWS/Lambda', 'IteratorAge', ...fn, { label: 'processor iterator age' }]],
      },
      { title: `${family.name}: processed / failed / malformed / duplicate`, metrics: OUTCOME_METRICS.map(outcome) },
      {
        title: `${family.name}: failure records written`,
        stat: 'Sum',
        metrics: [['AWS/S3', 'PutRequests', 'BucketName', family.failureBucketName, 'FilterId', FAILURE_METRIC_FILTER, { label: 'failure records (npm run redrive)' }]],
      },
      {
        title: `${family.name}: processor errors and throttles`,
        metrics: [
          ['AWS/Lambda', 'Errors', ...fn, { label: 'errors' }],
          ['AWS/Lambda', 'Throttles', ...fn, { label: 'throttles' }],
          ['AWS/Lambda', 'Invocations', ...fn, { label: 'invocations', yAxis: 'right' }],
        ],
      },
      {
        title: `${family.name}: processor duration (ms)`,
        stat: 'Average',
        metrics: [
          ['AWS/Lambda', 'Duration', ...fn, { stat: 'Average', label: 'average' }],
          ['AWS/Lambda', 'Duration', ...fn, { stat: 'p99', label: 'p99' }],
          ['AWS/Lambda', 'Duration', ...fn, { stat: 'Maximum', label: 'maximum' }],
        ],
      },
    ]);
  }
  if (widgets.length > MAX_WIDGETS) throw new Error(`the dashboard would hold ${widgets.length} widgets; CloudWatch allows ${MAX_WIDGETS}`);
  return { widgets };
}

/** The console address of a dashboard. */
export function dashboardUrl(region: string, name: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${encodeURIComponent(name)}`;
}

/** What the dashboard reads of its stack (PipelineStack is one): the families and alarms are read at synthesis. */
export interface DashboardHost extends Construct {
  readonly namePrefix: string;
  readonly environment: Pick<EnvironmentConfig, 'region'>;
  readonly metricsNamespace: string;
  readonly api: Pick<EventsApi, 'settings'>;
  readonly eventFamilies: readonly Pick<EventFamily, 'family' | 'deployment' | 'failureDestination'>[];
}

export class PipelineDashboard extends Construct {
  readonly dashboard: CloudwatchDashboard;
  readonly url: string;

  constructor(stack: DashboardHost, id: string) {
    super(stack, id);
    const name = stack.namePrefix;
    this.dashboard = new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: name,
      dashboardBody: Lazy.stringValue({
        produce: () =>
          JSON.stringify(
            dashboardBody({
              region: stack.environment.region,
              metricsNamespace: stack.metricsNamespace,
              apiName: stack.api.settings.name,
              stageName: stack.api.settings.stageName,
              families: stack.eventFamilies.map((f) => ({
                name: f.family.name,
                streamName: f.deployment.stream.name,
                functionName: f.deployment.processor.functionName,
                failureBucketName: f.failureDestination.bucket.bucket,
              })),
              alarmArns: stack.node
                .findAll()
                .filter((c): c is CloudwatchMetricAlarm => c instanceof CloudwatchMetricAlarm)
                .map((alarm) => alarm.arn),
            }),
          ),
      }),
    });
    this.url = dashboardUrl(stack.environment.region, name);
    new TerraformOutput(this, 'url', { value: this.url, description: 'The CloudWatch dashboard of this environment' }).overrideLogicalId('dashboard_url');
  }
}
