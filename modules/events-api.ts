/**
 * The unified REST API: `POST /events/<family>` → Kinesis PutRecord and
 * `POST /events/<family>/batch` → PutRecords, as AWS service integrations with
 * no Lambda in the request path. Templates, models and error mapping come from
 * modules/templates.ts and modules/models.ts, the same text local mode renders.
 */
import { createHash } from 'node:crypto';
import { ApiGatewayAccount } from '@cdktf/provider-aws/lib/api-gateway-account/index.js';
import { ApiGatewayApiKey } from '@cdktf/provider-aws/lib/api-gateway-api-key/index.js';
import { ApiGatewayDeployment } from '@cdktf/provider-aws/lib/api-gateway-deployment/index.js';
import { ApiGatewayGatewayResponse } from '@cdktf/provider-aws/lib/api-gateway-gateway-response/index.js';
import { ApiGatewayIntegration } from '@cdktf/provider-aws/lib/api-gateway-integration/index.js';
import { ApiGatewayIntegrationResponse } from '@cdktf/provider-aws/lib/api-gateway-integration-response/index.js';
import { ApiGatewayMethod } from '@cdktf/provider-aws/lib/api-gateway-method/index.js';
import { ApiGatewayMethodResponse } from '@cdktf/provider-aws/lib/api-gateway-method-response/index.js';
import { ApiGatewayMethodSettings } from '@cdktf/provider-aws/lib/api-gateway-method-settings/index.js';
import { ApiGatewayModel } from '@cdktf/provider-aws/lib/api-gateway-model/index.js';
import { ApiGatewayRequestValidator } from '@cdktf/provider-aws/lib/api-gateway-request-validator/index.js';
import { ApiGatewayResource } from '@cdktf/provider-aws/lib/api-gateway-resource/index.js';
import { ApiGatewayRestApi } from '@cdktf/provider-aws/lib/api-gateway-rest-api/index.js';
import { ApiGatewayStage } from '@cdktf/provider-aws/lib/api-gateway-stage/index.js';
import { ApiGatewayUsagePlan } from '@cdktf/provider-aws/lib/api-gateway-usage-plan/index.js';
import { ApiGatewayUsagePlanKey } from '@cdktf/provider-aws/lib/api-gateway-usage-plan-key/index.js';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { pagingAlarm } from './alarm.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { Lazy, TerraformOutput, TerraformResource, dependable } from 'cdktf';
import { Construct } from 'constructs';
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import type { ApiSettings } from './deployment.js';
import { PROJECT, type EnvironmentConfig } from './environments.js';
import { policyDocument, serviceRole, tfLiteral, type Statement } from './iam.js';
import { batchModel, compatBatchModel, eventModel, modelName } from './models.js';
import {
  GATEWAY_RESPONSES,
  JSON_CONTENT_TYPE,
  METHOD_STATUS_CODES,
  compatPutRecordsRequestTemplate,
  integrationResponses,
  putRecordRequestTemplate,
  putRecordsRequestTemplate,
} from './templates.js';

export interface EventsApiProps {
  readonly environment: EnvironmentConfig;
  readonly namePrefix: string;
  readonly accountId: string;
  /** From data.aws_partition. */
  readonly partition: string;
  readonly alarmTopicArn: string;
}

export interface FamilyRoute {
  readonly family: FamilyDefinition;
  readonly streamName: string;
  readonly streamArn: string;
  /** Customer key of the stream, when one is used (PutRecord then needs kms:GenerateDataKey). */
  readonly streamKeyArn?: string;
}

/** Headers a browser may send on the events routes. */
const CORS_ALLOW_HEADERS = 'Content-Type,X-Api-Key,X-Amz-Date,Authorization';

const KINESIS_CONTENT_TYPE = "'application/x-amz-json-1.1'";

export class EventsApi extends Construct {
  readonly restApi: ApiGatewayRestApi;
  readonly stage: ApiGatewayStage;
  readonly settings: ApiSettings;
  readonly role: IamRole;
  readonly accessLogGroup: CloudwatchLogGroup;
  private readonly deployment: ApiGatewayDeployment;
  private readonly validator: ApiGatewayRequestValidator;
  private readonly eventsResource: ApiGatewayResource;
  private compatBatchResource?: ApiGatewayResource;
  private readonly region: string;
  private readonly partition: string;
  private readonly allowOrigin: string;
  /**
   * Every resource whose change API Gateway serves only after a new deployment
   * (see REDEPLOYMENT_TYPES); the hash of their synthesized configuration is
   * the deployment's trigger, so nothing can change without being published.
   */
  private readonly published: TerraformResource[] = [];

  constructor(scope: Construct, id: string, props: EventsApiProps) {
    super(scope, id);
    const { environment: env, namePrefix } = props;
    this.region = env.region;
    this.partition = props.partition;
    const origins = env.api.corsAllowOrigins;
    if (origins.length !== 1) {
      throw new Error(`corsAllowOrigins must hold exactly one origin or "*" (REST API responses carry one static origin), got ${origins.length}`);
    }
    this.allowOrigin = origins[0]!;
    this.settings = {
      name: `${namePrefix}-events`,
      stageName: env.name,
      throttlingRateLimit: env.api.throttlingRateLimit,
      throttlingBurstLimit: env.api.throttlingBurstLimit,
      apiKeyRequired: env.api.authentication.type === 'api-key',
      corsAllowOrigins: origins,
    };

    this.restApi = new ApiGatewayRestApi(this, 'rest-api', {
      name: this.settings.name,
      description: `${PROJECT} events API (${env.name}): POST /events/<family> and /events/<family>/batch`,
      endpointConfiguration: { types: ['REGIONAL'] },
    });

    this.role = serviceRole(this, 'kinesis-role', `${namePrefix}-api-kinesis`, 'apigateway.amazonaws.com');

    this.validator = new ApiGatewayRequestValidator(this, 'body-validator', {
      restApiId: this.restApi.id,
      name: 'body',
      validateRequestBody: true,
      validateRequestParameters: false,
    });

    this.eventsResource = new ApiGatewayResource(this, 'events', {
      restApiId: this.restApi.id,
      parentId: this.restApi.rootResourceId,
      pathPart: 'events',
    });

    this.deployment = new ApiGatewayDeployment(this, 'deployment', {
      restApiId: this.restApi.id,
      description: 'Managed by cdktf; redeployed whenever a route, template, model, validator or response changes.',
      triggers: {
        redeployment: Lazy.stringValue({
          produce: (context) => {
            const config = this.published.map((r) => [r.terraformResourceType, r.friendlyUniqueId, context.resolve(r.toTerraform())]);
            return createHash('sha256').update(JSON.stringify(config)).digest('hex');
          },
        }),
      },
      // The stage points at the new deployment before the old one is deleted, so updates have no gap.
      lifecycle: { createBeforeDestroy: true },
    });
    // The integration role's name is in its ARN, which integrations reference as a Terraform expression.
    this.publish(this.role, this.validator, this.eventsResource);

    for (const [type, spec] of Object.entries(GATEWAY_RESPONSES)) {
      const response = new ApiGatewayGatewayResponse(this, `gateway-response-${type.toLowerCase()}`, {
        restApiId: this.restApi.id,
        responseType: type,
        statusCode: spec.statusCode,
        responseTemplates: { [JSON_CONTENT_TYPE]: tfLiteral(spec.template) },
        responseParameters: {
          'gatewayresponse.header.Access-Control-Allow-Origin': `'${this.allowOrigin}'`,
          ...Object.fromEntries(Object.entries(spec.headers ?? {}).map(([name, value]) => [`gatewayresponse.header.${name}`, `'${value}'`])),
        },
      });
      this.dependOn(response);
    }

    this.accessLogGroup = new CloudwatchLogGroup(this, 'access-logs', {
      name: `/aws/apigateway/${this.settings.name}/${env.name}/access`,
      retentionInDays: env.api.accessLogRetentionDays,
    });

    const account = env.ownsAccountSettings ? this.cloudWatchAccountRole(namePrefix, props.accountId) : undefined;

    this.stage = new ApiGatewayStage(this, 'stage', {
      restApiId: this.restApi.id,
      deploymentId: this.deployment.id,
      stageName: env.name,
      xrayTracingEnabled: env.processor.tracing,
      accessLogSettings: {
        destinationArn: this.accessLogGroup.arn,
        format: tfLiteral(accessLogFormat()),
      },
      dependsOn: account ? [account] : undefined,
    });

    new ApiGatewayMethodSettings(this, 'stage-settings', {
      restApiId: this.restApi.id,
      stageName: this.stage.stageName,
      methodPath: '*/*',
      settings: {
        throttlingRateLimit: env.api.throttlingRateLimit,
        throttlingBurstLimit: env.api.throttlingBurstLimit,
        metricsEnabled: true,
        // Execution logs would copy request bodies into CloudWatch; access logs are enough.
        loggingLevel: 'OFF',
        dataTraceEnabled: false,
      },
    });

    if (env.api.authentication.type === 'api-key') {
      const keyIds: Record<string, string> = {};
      for (const client of env.api.authentication.clients) {
        // One plan per client: its own throttle and quota, so a leaked key costs that client's share only.
        const plan = new ApiGatewayUsagePlan(this, `usage-plan-${client.name}`, {
          name: `${namePrefix}-${client.name}`,
          description: `Events API access of ${client.name} (${env.name})`,
          apiStages: [{ apiId: this.restApi.id, stage: this.stage.stageName }],
          throttleSettings: { rateLimit: client.rateLimit, burstLimit: client.burstLimit },
          quotaSettings: { limit: client.dailyQuota, period: 'DAY' },
        });
        // No value: API Gateway generates it, so it is never in code or Terraform configuration.
        const key = new ApiGatewayApiKey(this, `api-key-${client.name}`, { name: `${namePrefix}-${client.name}`, enabled: true });
        new ApiGatewayUsagePlanKey(this, `usage-plan-key-${client.name}`, { keyId: key.id, keyType: 'API_KEY', usagePlanId: plan.id });
        keyIds[client.name] = key.id;
      }
      // The ids, not the values: the values stay out of Terraform outputs and logs.
      new TerraformOutput(this, 'api-key-ids', {
        value: keyIds,
        description: 'Per client: aws apigateway get-api-key --include-value --api-key <id> prints the key to send as x-api-key',
      }).overrideLogicalId('api_key_ids');
    }

    pagingAlarm(this, 'alarm-4xx-rate', props.alarmTopicArn, {
      alarmName: `${this.settings.name}-4xx-rate`,
      alarmDescription: 'More than 20 % of requests were refused (invalid bodies, unknown routes, throttling): a client or a schema is broken.',
      namespace: 'AWS/ApiGateway',
      metricName: '4XXError',
      dimensions: { ApiName: this.settings.name, Stage: env.name },
      // The Average of 4XXError is the fraction of requests that got a 4xx.
      statistic: 'Average',
      period: 300,
      evaluationPeriods: 1,
      threshold: 0.2,
    });

    pagingAlarm(this, 'alarm-5xx', props.alarmTopicArn, {
      alarmName: `${this.settings.name}-5xx`,
      alarmDescription: 'The events API answered 5xx: events were not accepted.',
      namespace: 'AWS/ApiGateway',
      metricName: '5XXError',
      dimensions: { ApiName: this.settings.name, Stage: env.name },
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
    });
  }

  /** Base URL of the stage; routes are `<url>/events/<family>`. */
  get url(): string {
    return this.stage.invokeUrl;
  }

  /** Adds both routes of a family and lets the API role write to exactly its stream. */
  addFamily(route: FamilyRoute): void {
    const { family } = route;
    const scope = new Construct(this, `family-${family.name}`);
    const familyResource = new ApiGatewayResource(scope, 'resource', {
      restApiId: this.restApi.id,
      parentId: this.eventsResource.id,
      pathPart: family.name,
    });
    const batchResource = new ApiGatewayResource(scope, 'batch-resource', {
      restApiId: this.restApi.id,
      parentId: familyResource.id,
      pathPart: 'batch',
    });

    const eventSchema = JSON.stringify(eventModel(family));
    const batchSchema = JSON.stringify(batchModel(family));
    const eventModelResource = new ApiGatewayModel(scope, 'event-model', {
      restApiId: this.restApi.id,
      name: modelName(family, 'Event'),
      contentType: JSON_CONTENT_TYPE,
      schema: tfLiteral(eventSchema),
    });
    const batchModelResource = new ApiGatewayModel(scope, 'batch-model', {
      restApiId: this.restApi.id,
      name: modelName(family, 'Batch'),
      contentType: JSON_CONTENT_TYPE,
      schema: tfLiteral(batchSchema),
    });

    const single = putRecordRequestTemplate(family, route.streamName);
    const batch = putRecordsRequestTemplate(family, route.streamName);
    this.addRoute(scope, 'single', familyResource, eventModelResource, 'PutRecord', single);
    this.addRoute(scope, 'batch', batchResource, batchModelResource, 'PutRecords', batch);
    this.addPreflight(scope, 'single-options', familyResource);
    this.addPreflight(scope, 'batch-options', batchResource);
    this.publish(familyResource, batchResource, eventModelResource, batchModelResource);
    this.addCompatBatchRoute(scope, route);

    const statements: Statement[] = [
      { sid: 'PutFamilyRecords', effect: 'Allow', actions: ['kinesis:PutRecord', 'kinesis:PutRecords'], resources: [route.streamArn] },
    ];
    if (route.streamKeyArn) {
      statements.push({ sid: 'EncryptFamilyRecords', effect: 'Allow', actions: ['kms:GenerateDataKey'], resources: [route.streamKeyArn] });
    }
    new IamRolePolicy(scope, 'kinesis-policy', {
      role: this.role.id,
      name: `put-${family.name}`,
      policy: policyDocument(scope, 'kinesis-policy-document', statements).json,
    });
  }

  /** `POST /events/batch/<family>`: the seed's `{"records":[{"data","partitionKey"}]}` shape, PutRecords like the batch route. */
  private addCompatBatchRoute(scope: Construct, route: FamilyRoute): void {
    if (route.family.name === 'batch') throw new Error('a family cannot be named "batch": /events/batch/<family> is the compatibility route');
    if (!this.compatBatchResource) {
      this.compatBatchResource = new ApiGatewayResource(this, 'compat-batch', { restApiId: this.restApi.id, parentId: this.eventsResource.id, pathPart: 'batch' });
      this.publish(this.compatBatchResource);
    }
    const resource = new ApiGatewayResource(scope, 'compat-batch-resource', { restApiId: this.restApi.id, parentId: this.compatBatchResource.id, pathPart: route.family.name });
    const schema = JSON.stringify(compatBatchModel(route.family));
    const model = new ApiGatewayModel(scope, 'compat-batch-model', { restApiId: this.restApi.id, name: modelName(route.family, 'CompatBatch'), contentType: JSON_CONTENT_TYPE, schema: tfLiteral(schema) });
    const template = compatPutRecordsRequestTemplate(route.family, route.streamName);
    this.addRoute(scope, 'compat-batch', resource, model, 'PutRecords', template);
    this.addPreflight(scope, 'compat-batch-options', resource);
    this.publish(resource, model);
  }

  private addRoute(
    scope: Construct,
    id: 'single' | 'batch' | 'compat-batch',
    resource: ApiGatewayResource,
    model: ApiGatewayModel,
    action: 'PutRecord' | 'PutRecords',
    requestTemplate: string,
  ): void {
    const method = new ApiGatewayMethod(scope, `${id}-method`, {
      restApiId: this.restApi.id,
      resourceId: resource.id,
      httpMethod: 'POST',
      authorization: 'NONE',
      apiKeyRequired: this.settings.apiKeyRequired,
      requestValidatorId: this.validator.id,
      requestModels: { [JSON_CONTENT_TYPE]: model.name },
    });
    const integration = new ApiGatewayIntegration(scope, `${id}-integration`, {
      restApiId: this.restApi.id,
      resourceId: resource.id,
      httpMethod: method.httpMethod,
      type: 'AWS',
      integrationHttpMethod: 'POST',
      uri: `arn:${this.partition}:apigateway:${this.region}:kinesis:action/${action}`,
      credentials: this.role.arn,
      // Only application/json has a template; anything else is refused instead of passed to Kinesis raw.
      passthroughBehavior: 'NEVER',
      requestParameters: { 'integration.request.header.Content-Type': KINESIS_CONTENT_TYPE },
      requestTemplates: { [JSON_CONTENT_TYPE]: tfLiteral(requestTemplate) },
    });
    const methodResponses = METHOD_STATUS_CODES.map(
      (statusCode) =>
        new ApiGatewayMethodResponse(scope, `${id}-method-response-${statusCode}`, {
          restApiId: this.restApi.id,
          resourceId: resource.id,
          httpMethod: method.httpMethod,
          statusCode,
          responseModels: { [JSON_CONTENT_TYPE]: 'Empty' },
          // Retry-After is set by the 4xx template's responseOverride when Kinesis throttles.
          responseParameters: {
            'method.response.header.Access-Control-Allow-Origin': true,
            'method.response.header.Retry-After': false,
            'method.response.header.Access-Control-Expose-Headers': false,
          },
        }),
    );
    const responses = integrationResponses(action === 'PutRecord' ? 'single' : 'batch').map(
      (spec) =>
        new ApiGatewayIntegrationResponse(scope, `${id}-integration-response-${spec.statusCode}`, {
          restApiId: this.restApi.id,
          resourceId: resource.id,
          httpMethod: method.httpMethod,
          statusCode: spec.statusCode,
          selectionPattern: spec.selectionPattern,
          responseTemplates: { [JSON_CONTENT_TYPE]: tfLiteral(spec.template) },
          responseParameters: { 'method.response.header.Access-Control-Allow-Origin': `'${this.allowOrigin}'` },
          dependsOn: [integration, ...methodResponses],
        }),
    );
    this.dependOn(integration, ...responses);
    this.publish(method, ...methodResponses);
  }

  /** CORS preflight, answered by API Gateway itself (MOCK integration). */
  private addPreflight(scope: Construct, id: string, resource: ApiGatewayResource): void {
    const method = new ApiGatewayMethod(scope, `${id}-method`, {
      restApiId: this.restApi.id,
      resourceId: resource.id,
      httpMethod: 'OPTIONS',
      authorization: 'NONE',
    });
    const integration = new ApiGatewayIntegration(scope, `${id}-integration`, {
      restApiId: this.restApi.id,
      resourceId: resource.id,
      httpMethod: method.httpMethod,
      type: 'MOCK',
      requestTemplates: { [JSON_CONTENT_TYPE]: '{"statusCode": 200}' },
    });
    const headers = {
      'method.response.header.Access-Control-Allow-Origin': `'${this.allowOrigin}'`,
      'method.response.header.Access-Control-Allow-Methods': "'OPTIONS,POST'",
      'method.response.header.Access-Control-Allow-Headers': `'${CORS_ALLOW_HEADERS}'`,
    };
    const methodResponse = new ApiGatewayMethodResponse(scope, `${id}-method-response`, {
      restApiId: this.restApi.id,
      resourceId: resource.id,
      httpMethod: method.httpMethod,
      statusCode: '200',
      responseParameters: Object.fromEntries(Object.keys(headers).map((h) => [h, true])),
    });
    const response = new ApiGatewayIntegrationResponse(scope, `${id}-integration-response`, {
      restApiId: this.restApi.id,
      resourceId: resource.id,
      httpMethod: method.httpMethod,
      statusCode: '200',
      responseParameters: headers,
      dependsOn: [integration, methodResponse],
    });
    this.dependOn(integration, response);
    this.publish(method, methodResponse);
  }

  /**
   * A deployment snapshots the API: it must come after every integration and
   * response exists, and it is redone whenever one of them changes.
   */
  private dependOn(...resources: TerraformResource[]): void {
    this.deployment.dependsOn = [...(this.deployment.dependsOn ?? []), ...resources.map((r) => dependable(r))];
    this.publish(...resources);
  }

  /** Resources the stage serves only from a deployment: their configuration is hashed into its trigger. */
  private publish(...resources: TerraformResource[]): void {
    this.published.push(...resources);
  }

  /**
   * API Gateway writes access logs with one account-wide role. Its policy covers
   * the project's API log groups in this account and region, whichever
   * environment last set it.
   */
  private cloudWatchAccountRole(namePrefix: string, accountId: string): ApiGatewayAccount {
    const role = serviceRole(this, 'cloudwatch-role', `${namePrefix}-apigateway-logs`, 'apigateway.amazonaws.com');
    const logGroups = `arn:${this.partition}:logs:${this.region}:${accountId}:log-group:/aws/apigateway/${PROJECT}-*`;
    new IamRolePolicy(this, 'cloudwatch-policy', {
      role: role.id,
      name: 'write-access-logs',
      policy: policyDocument(this, 'cloudwatch-policy-document', [
        {
          sid: 'WriteAccessLogs',
          effect: 'Allow',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [`${logGroups}:*`],
        },
        {
          sid: 'FindAccessLogGroups',
          effect: 'Allow',
          actions: ['logs:DescribeLogGroups'],
          resources: [`arn:${this.partition}:logs:${this.region}:${accountId}:log-group:*`],
        },
      ]).json,
    });
    // reset_on_delete: destroying the owner clears the setting instead of leaving it on a deleted role.
    return new ApiGatewayAccount(this, 'account', { cloudwatchRoleArn: role.arn, resetOnDelete: true });
  }
}

/**
 * One JSON object per request; no bodies, no headers (they may carry API keys).
 * Inside quotes only variables whose values never hold a quote or backslash
 * (ids, numbers, methods, paths of declared resources, IPs; numbers quoted too,
 * because a missing value is logged as `-`); the error message
 * in the form API Gateway quotes and escapes itself (`messageString`). Not
 * `validationErrorString`: it has no quoted form and repeats the rejected
 * value verbatim (API Gateway Developer Guide, "Variables for access logging").
 */
const ACCESS_LOG_FIELDS: ReadonlyArray<readonly [string, string, 'quoted' | 'raw']> = [
  ['requestId', '$context.requestId', 'quoted'],
  ['ip', '$context.identity.sourceIp', 'quoted'],
  ['requestTime', '$context.requestTime', 'quoted'],
  ['httpMethod', '$context.httpMethod', 'quoted'],
  ['resourcePath', '$context.resourcePath', 'quoted'],
  ['status', '$context.status', 'quoted'],
  ['responseLength', '$context.responseLength', 'quoted'],
  ['integrationStatus', '$context.integration.status', 'quoted'],
  ['integrationLatency', '$context.integration.latency', 'quoted'],
  ['responseLatency', '$context.responseLatency', 'quoted'],
  ['errorType', '$context.error.responseType', 'quoted'],
  ['errorMessage', '$context.error.messageString', 'raw'],
  ['apiKeyId', '$context.identity.apiKeyId', 'quoted'],
];

export function accessLogFormat(): string {
  return `{${ACCESS_LOG_FIELDS.map(([name, variable, form]) => (form === 'quoted' ? `"${name}":"${variable}"` : `"${name}":${variable}`)).join(',')}}`;
}
