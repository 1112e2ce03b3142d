/**
 * The events API (modules/events-api.ts) as synthesized. Per family: both
 * routes as Kinesis service integrations rendering the templates of
 * modules/templates.ts, their request models, and the API role's permission on
 * that family's stream. Per environment: gateway responses, stage, API alarms
 * and API keys.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ENVIRONMENTS, ENVIRONMENT_NAMES, type EnvironmentName } from './environments.js';
import { fromTfLiteral } from './iam.js';
import { batchModel, eventModel, modelName } from './models.js';
import { familyCases, named, one, policyDoc, ref, resources, synthesizeApp, type Block, type TfJson } from '../test/support/synthesized.js';
import { GATEWAY_RESPONSES, METHOD_STATUS_CODES, integrationResponses, putRecordRequestTemplate, putRecordsRequestTemplate } from './templates.js';

let tf: Record<EnvironmentName, TfJson>;

beforeAll(() => {
  ({ tf } = synthesizeApp());
});

const apiKeyRequired = (env: EnvironmentName) => ENVIRONMENTS[env].api.authentication.type === 'api-key';

describe.each(familyCases)('$name', ({ env, family, name }) => {
  const config = ENVIRONMENTS[env];
  const t = () => tf[env];

  it('API: both routes are Kinesis service integrations rendering exactly the templates of modules/templates.ts', () => {
    const [resourceId] = one(t(), 'aws_api_gateway_resource', (b) => b.path_part === family.name && !String(b.parent_id).includes('compat-batch'));
    const [batchResourceId] = one(
      t(),
      'aws_api_gateway_resource',
      (b) => b.path_part === 'batch' && b.parent_id === ref('aws_api_gateway_resource', resourceId, 'id'),
    );
    const routes = [
      { resource: resourceId, action: 'PutRecord', template: putRecordRequestTemplate(family, name), route: 'single' as const, model: modelName(family, 'Event') },
      { resource: batchResourceId, action: 'PutRecords', template: putRecordsRequestTemplate(family, name), route: 'batch' as const, model: modelName(family, 'Batch') },
    ];
    const [validatorId, validator] = one(t(), 'aws_api_gateway_request_validator', () => true);
    expect(validator).toMatchObject({ validate_request_body: true });
    for (const r of routes) {
      const resourceRef = ref('aws_api_gateway_resource', r.resource, 'id');
      const [methodId, method] = one(t(), 'aws_api_gateway_method', (b) => b.resource_id === resourceRef && b.http_method === 'POST');
      const onPost = (b: Block) => b.resource_id === resourceRef && b.http_method === ref('aws_api_gateway_method', methodId, 'http_method');
      expect(method.request_validator_id).toBe(ref('aws_api_gateway_request_validator', validatorId, 'id'));
      expect(method.api_key_required).toBe(apiKeyRequired(env));
      const [modelId] = named(t(), 'aws_api_gateway_model', r.model);
      expect(method.request_models).toEqual({ 'application/json': ref('aws_api_gateway_model', modelId, 'name') });

      const [, integration] = one(t(), 'aws_api_gateway_integration', (b) => onPost(b) && b.type === 'AWS');
      expect(integration).toMatchObject({
        uri: `arn:\${data.aws_partition.partition.partition}:apigateway:${config.region}:kinesis:action/${r.action}`,
        integration_http_method: 'POST',
        passthrough_behavior: 'NEVER',
        request_parameters: { 'integration.request.header.Content-Type': "'application/x-amz-json-1.1'" },
      });
      expect(fromTfLiteral(integration.request_templates['application/json'])).toBe(r.template);

      const responses = resources(t(), 'aws_api_gateway_integration_response').filter(([, b]) => onPost(b));
      expect(
        responses.map(([, b]) => ({ statusCode: b.status_code, selectionPattern: b.selection_pattern, template: fromTfLiteral(b.response_templates['application/json']) })),
      ).toEqual(integrationResponses(r.route).map((s) => ({ statusCode: s.statusCode, selectionPattern: s.selectionPattern, template: s.template })));
      const methodResponses = resources(t(), 'aws_api_gateway_method_response').filter(([, b]) => onPost(b));
      expect(methodResponses.map(([, b]) => b.status_code).sort()).toEqual([...METHOD_STATUS_CODES].sort());
      // CORS preflight answered by API Gateway.
      one(t(), 'aws_api_gateway_method', (b) => b.resource_id === resourceRef && b.http_method === 'OPTIONS');
    }
  });

  it('API: request models are the JSON Schemas generated from the family schema', () => {
    expect(JSON.parse(fromTfLiteral(named(t(), 'aws_api_gateway_model', modelName(family, 'Event'))[1].schema))).toEqual(eventModel(family));
    expect(JSON.parse(fromTfLiteral(named(t(), 'aws_api_gateway_model', modelName(family, 'Batch'))[1].schema))).toEqual(batchModel(family));
  });

  it('API role may put records on exactly this stream', () => {
    const [roleId] = named(t(), 'aws_iam_role', `event-flow-${env}-api-kinesis`);
    const [, policy] = one(t(), 'aws_iam_role_policy', (b) => b.role === ref('aws_iam_role', roleId, 'id') && b.name === `put-${family.name}`);
    const [streamId] = named(t(), 'aws_kinesis_stream', name);
    const statements = policyDoc(t(), policy.policy).statement as Block[];
    expect(statements[0]).toMatchObject({ actions: ['kinesis:PutRecord', 'kinesis:PutRecords'], resources: [ref('aws_kinesis_stream', streamId, 'arn')] });
    expect(statements.length).toBe(config.stream.customerKey ? 2 : 1);
  });
});

describe.each(ENVIRONMENT_NAMES)('%s API', (env) => {
  const config = ENVIRONMENTS[env];

  it('gateway responses are JSON with the right codes (unknown path → 404, not 403)', () => {
    const t = tf[env];
    const byType = Object.fromEntries(resources(t, 'aws_api_gateway_gateway_response').map(([, b]) => [b.response_type, b]));
    expect(Object.keys(byType).sort()).toEqual(Object.keys(GATEWAY_RESPONSES).sort());
    expect(byType.MISSING_AUTHENTICATION_TOKEN!.status_code).toBe('404');
    for (const [type, spec] of Object.entries(GATEWAY_RESPONSES)) {
      expect(byType[type]!.status_code).toBe(spec.statusCode);
      expect(fromTfLiteral(byType[type]!.response_templates['application/json'])).toBe(spec.template);
    }
  });

  it('stage: throttling, JSON access logs with retention, tracing; deployment redeploys on change, create-before-destroy', () => {
    const t = tf[env];
    const [stageId, stage] = one(t, 'aws_api_gateway_stage', () => true);
    expect(stage.stage_name).toBe(env);
    const [logId, logs] = one(t, 'aws_cloudwatch_log_group', (b) => String(b.name).startsWith('/aws/apigateway/'));
    expect(logs.retention_in_days).toBe(config.api.accessLogRetentionDays);
    expect(stage.access_log_settings.destination_arn).toBe(ref('aws_cloudwatch_log_group', logId, 'arn'));
    // messageString is written unquoted: API Gateway quotes it (see modules/deployability.test.ts, finding 6).
    const format = fromTfLiteral(stage.access_log_settings.format).replace('$context.error.messageString', '"message"');
    expect(JSON.parse(format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status', errorMessage: 'message' });
    const [, settings] = one(t, 'aws_api_gateway_method_settings', () => true);
    expect(settings.stage_name).toBe(ref('aws_api_gateway_stage', stageId, 'stage_name'));
    expect(settings.method_path).toBe('*/*');
    expect(settings.settings).toMatchObject({
      throttling_rate_limit: config.api.throttlingRateLimit,
      throttling_burst_limit: config.api.throttlingBurstLimit,
      metrics_enabled: true,
    });
    const [deploymentId, deployment] = one(t, 'aws_api_gateway_deployment', () => true);
    expect(stage.deployment_id).toBe(ref('aws_api_gateway_deployment', deploymentId, 'id'));
    expect(deployment.lifecycle).toEqual({ create_before_destroy: true });
    expect(deployment.triggers.redeployment).toMatch(/^[0-9a-f]{64}$/);
    // Every integration is in place before the deployment snapshots the API.
    const integrations = resources(t, 'aws_api_gateway_integration').map(([id]) => `aws_api_gateway_integration.${id}`);
    expect(deployment.depends_on).toEqual(expect.arrayContaining(integrations));
  });

  it('alarms on API 5xx and on a 4xx rate above 20 %, per API and stage, to the alarm topic', () => {
    const t = tf[env];
    const [topicId] = named(t, 'aws_sns_topic', `event-flow-${env}-alarms`);
    const dimensions = { ApiName: `event-flow-${env}-events`, Stage: env };
    expect(named(t, 'aws_cloudwatch_metric_alarm', `event-flow-${env}-events-5xx`, 'alarm_name')[1]).toMatchObject({
      metric_name: '5XXError',
      dimensions,
      statistic: 'Sum',
      threshold: 0,
      alarm_actions: [ref('aws_sns_topic', topicId, 'arn')],
    });
    expect(named(t, 'aws_cloudwatch_metric_alarm', `event-flow-${env}-events-4xx-rate`, 'alarm_name')[1]).toMatchObject({
      metric_name: '4XXError',
      dimensions,
      statistic: 'Average',
      threshold: 0.2,
      alarm_actions: [ref('aws_sns_topic', topicId, 'arn')],
    });
  });

  it(`API keys and usage plans ${apiKeyRequired(env) ? 'are' : 'are not'} required`, () => {
    const t = tf[env];
    const auth = config.api.authentication;
    const clients = auth.type === 'api-key' ? auth.clients.length : 0;
    expect(resources(t, 'aws_api_gateway_usage_plan').length).toBe(clients);
    expect(resources(t, 'aws_api_gateway_api_key').length).toBe(clients);
    for (const [, method] of resources(t, 'aws_api_gateway_method').filter(([, b]) => b.http_method === 'POST')) {
      expect(method.api_key_required).toBe(apiKeyRequired(env));
    }
  });
});
