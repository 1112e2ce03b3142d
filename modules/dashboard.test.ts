/**
 * The environment dashboard as synthesized: one per stack, every family's
 * stream, processor, outcome metrics and failure destination on it, the API's
 * errors and latency, and every alarm of the stack in the alarm status widget.
 */
import { Testing } from 'cdktf';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod/mini';
import { FAMILIES } from '../handlers/families.js';
import { defineFamily } from '../handlers/runtime/family.js';
import { buildApp } from './app.js';
import { MAX_ALARMS_PER_WIDGET, MAX_WIDGETS, OUTCOME_METRICS, dashboardBody, type Widget } from './dashboard.js';
import { FAILURE_METRIC_FILTER, failureBucketPrefix } from './failure-destination.js';
import { ENVIRONMENT_NAMES, ENVIRONMENTS, type EnvironmentName } from './environments.js';
import { EventFamily } from './event-family.js';
import { one, ref, resources, synthesizeApp, synthJson, type TfJson } from '../test/support/synthesized.js';

let tf: Record<EnvironmentName, TfJson>;

beforeAll(() => {
  ({ tf } = synthesizeApp());
});

function body(env: EnvironmentName): { widgets: Widget[] } {
  const [, dashboard] = one(tf[env], 'aws_cloudwatch_dashboard', () => true);
  return JSON.parse(dashboard.dashboard_body) as { widgets: Widget[] };
}

/** Every metric row of the metric widgets, flattened to [namespace, name, {dimension: value}, options]. */
function metricRows(widgets: Widget[]): Array<{ title: string; namespace: string; name: string; dims: Record<string, string>; stat?: string }> {
  return widgets
    .filter((w) => w.type === 'metric')
    .flatMap((w) =>
      (w.properties.metrics as unknown[][]).map((row) => {
        const strings = row.filter((v): v is string => typeof v === 'string');
        const options = row.find((v) => typeof v === 'object') as { stat?: string } | undefined;
        const dims: Record<string, string> = {};
        for (let i = 2; i < strings.length; i += 2) dims[strings[i]!] = strings[i + 1]!;
        return { title: String(w.properties.title), namespace: strings[0]!, name: strings[1]!, dims, stat: options?.stat ?? (w.properties.stat as string) };
      }),
    );
}

describe.each(ENVIRONMENT_NAMES)('%s dashboard', (env) => {
  const prefix = `event-flow-${env}`;

  it('is one dashboard named after the environment, its console URL a stack output', () => {
    const [, dashboard] = one(tf[env], 'aws_cloudwatch_dashboard', () => true);
    expect(dashboard.dashboard_name).toBe(prefix);
    // PutDashboard: "DashboardName ... can contain only alphanumerics, dash (-), and underscore (_)", at most 255 characters.
    expect(dashboard.dashboard_name).toMatch(/^[A-Za-z0-9_-]{1,255}$/);
    expect(tf[env].output!.dashboard_url!.value).toBe(
      `https://${ENVIRONMENTS[env].region}.console.aws.amazon.com/cloudwatch/home?region=${ENVIRONMENTS[env].region}#dashboards/dashboard/${prefix}`,
    );
  });

  it('shows, per family, incoming records and bytes, iterator age, the outcome metrics, failure destination depth and the function', () => {
    const rows = metricRows(body(env).widgets);
    const families = resources(tf[env], 'aws_kinesis_stream').map(([, s]) => String(s.name).slice(prefix.length + 1));
    expect(families.sort()).toEqual(FAMILIES.map((f) => f.name).sort());
    for (const family of families) {
      const name = `${prefix}-${family}`;
      const has = (namespace: string, metric: string, dims: Record<string, string>, stat?: string) =>
        expect(
          rows.some((r) => r.namespace === namespace && r.name === metric && JSON.stringify(r.dims) === JSON.stringify(dims) && (stat === undefined || r.stat === stat)),
          `${family}: ${namespace} ${metric} ${JSON.stringify(dims)} ${stat ?? ''}`,
        ).toBe(true);
      has('AWS/Kinesis', 'IncomingRecords', { StreamName: name }, 'Sum');
      has('AWS/Kinesis', 'IncomingBytes', { StreamName: name }, 'Sum');
      has('AWS/Lambda', 'IteratorAge', { FunctionName: name }, 'Maximum');
      // The EMF metrics must be queried with exactly the dimension set the processors publish (service, family).
      for (const metric of OUTCOME_METRICS) has(`EventFlow/${env}`, metric, { service: family, family }, 'Sum');
      const [bucketId] = one(tf[env], 'aws_s3_bucket', (b) => b.bucket_prefix === failureBucketPrefix(name));
      has('AWS/S3', 'PutRequests', { BucketName: ref('aws_s3_bucket', bucketId, 'bucket'), FilterId: FAILURE_METRIC_FILTER }, 'Sum');
      for (const metric of ['Errors', 'Throttles']) has('AWS/Lambda', metric, { FunctionName: name }, 'Sum');
      has('AWS/Lambda', 'Duration', { FunctionName: name }, 'p99');
    }
    // Whatever a widget names must exist in the stack: queues, streams and functions by name.
    const queues = new Set(resources(tf[env], 'aws_sqs_queue').map(([, q]) => q.name));
    const functions = new Set(resources(tf[env], 'aws_lambda_function').map(([, f]) => f.function_name));
    for (const row of rows) {
      if (row.dims.QueueName) expect(queues).toContain(row.dims.QueueName);
      if (row.dims.FunctionName) expect(functions).toContain(row.dims.FunctionName);
    }
  });

  it("shows the API's requests, 4xx, 5xx and latency for its stage", () => {
    const rows = metricRows(body(env).widgets);
    const [, api] = one(tf[env], 'aws_api_gateway_rest_api', () => true);
    const dims = { ApiName: api.name, Stage: env };
    for (const metric of ['Count', '4XXError', '5XXError', 'Latency']) {
      expect(rows.some((r) => r.namespace === 'AWS/ApiGateway' && r.name === metric && JSON.stringify(r.dims) === JSON.stringify(dims)), metric).toBe(true);
    }
  });

  it("lists every alarm of the stack in the alarm status widget, and stays inside CloudWatch's limits", () => {
    const { widgets } = body(env);
    const alarmWidgets = widgets.filter((w) => w.type === 'alarm');
    const listed = alarmWidgets.flatMap((w) => w.properties.alarms as string[]);
    const alarms = resources(tf[env], 'aws_cloudwatch_metric_alarm').map(([id]) => ref('aws_cloudwatch_metric_alarm', id, 'arn'));
    expect(alarms.length).toBeGreaterThanOrEqual(4 * 6 + 2);
    expect(listed.sort()).toEqual(alarms.sort());
    // CloudWatch dashboard body structure: an alarm widget holds at most 100 alarms; a dashboard at most 500 widgets.
    for (const w of alarmWidgets) expect((w.properties.alarms as string[]).length).toBeLessThanOrEqual(MAX_ALARMS_PER_WIDGET);
    expect(widgets.length).toBeLessThanOrEqual(MAX_WIDGETS);
    // The grid is 24 units wide and no two widgets overlap.
    const cells = new Set<string>();
    for (const w of widgets) {
      expect(w.x + w.width).toBeLessThanOrEqual(24);
      for (let x = w.x; x < w.x + w.width; x++) for (let y = w.y; y < w.y + w.height; y++) {
        expect(cells.has(`${x},${y}`), `overlap at ${x},${y}`).toBe(false);
        cells.add(`${x},${y}`);
      }
    }
  });
});

describe('dashboard body', () => {
  it('splits more than 100 alarms over several status widgets', () => {
    const alarmArns = Array.from({ length: 230 }, (_, i) => `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a${i}`);
    const { widgets } = dashboardBody({ region: 'eu-west-1', metricsNamespace: 'N', apiName: 'api', stageName: 's', families: [], alarmArns });
    const alarmWidgets = widgets.filter((w) => w.type === 'alarm');
    expect(alarmWidgets.map((w) => (w.properties.alarms as string[]).length)).toEqual([100, 100, 30]);
    expect(alarmWidgets.flatMap((w) => w.properties.alarms as string[])).toEqual(alarmArns);
  });

  it('includes a family added to the stack after it was created', () => {
    const [stack] = buildApp(Testing.app());
    const sensors = defineFamily({
      name: 'sensor_readings',
      description: 'test family',
      schema: z.object({ sensor_id: z.string() }),
      partitionKey: ['sensor_id'],
      idempotencyKey: 'event_id',
      example: { sensor_id: 's-1' },
    });
    new EventFamily(stack!, sensors.name, { host: stack!, family: sensors, bundleDir: 'dist/handlers/user_activity' });
    const [, dashboard] = one(synthJson(stack!), 'aws_cloudwatch_dashboard', () => true);
    expect(dashboard.dashboard_body).toContain('"StreamName","event-flow-dev-sensor_readings"');
    expect(dashboard.dashboard_body).toContain('sensor_readings_alarm-iterator-age');
  });
});
