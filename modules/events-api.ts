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
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { Lazy, TerraformOutput, TerraformResource, dependable } from 'cdktf';
import { Construct } from 'constructs';
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import type { ApiSettings } from './deployment.js';
import { PROJECT, type EnvironmentConfig } from './environments.js';
import { policyDocument, serviceRole, tfLiteral, type Statement } from './iam.js';
import { batchModel, eventModel, modelName } from './models.js';
import {
  GATEWAY_RESPONSES,
  JSON_CONTENT_TYPE,
  METHOD_STATUS_CODES,
  integrationResponses,
  putRecordRequestTemplate,
  putRecordsRequestTemplate,
} from './templates.js';

export interface EventsApiProps {
  readonly environment: EnvironmentConfig;
  readonly namePrefix: string;
  readonly accountId: string;
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
  private readonly region: string;
  private readonly allowOrigin: string;
  /** Everything that changes what the API does; its hash redeploys the stage. */
  private readonly fingerprint: unknown[] = [];

  constructor(scope: Construct, id: string, props: EventsApiProps) {
    super(scope, id);
    const { environment: env, namePrefix } = props;
    this.region = env.region;
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
      apiKeyRequired: env.api.apiKeyRequired,
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

    for (const [type, spec] of Object.entries(GATEWAY_RESPONSES)) {
      new ApiGatewayGatewayResponse(this, `gateway-response-${type.toLowerCase()}`, {
        restApiId: this.restApi.id,
        responseType: type,
        statusCode: spec.statusCode,
        responseTemplates: { [JSON_CONTENT_TYPE]: tfLiteral(spec.template) },
        responseParameters: {
          'gatewayresponse.header.Access-Control-Allow-Origin': `'${this.allowOrigin}'`,
          ...Object.fromEntries(Object.entries(spec.headers ?? {}).map(([name, value]) => [`gatewayresponse.header.${name}`, `'${value}'`])),
        },
      });
      this.fingerprint.push({ gatewayResponse: type, ...spec });
    }

    this.deployment = new ApiGatewayDeployment(this, 'deployment', {
      restApiId: this.restApi.id,
      description: 'Managed by cdktf; redeployed whenever a route, template, model or response changes.',
      triggers: {
        redeployment: Lazy.stringValue({
          produce: () => createHash('sha256').update(JSON.stringify(this.fingerprint)).digest('hex'),
        }),
      },
      // The stage points at the new deployment before the old one is deleted, so updates have no gap.
      lifecycle: { createBeforeDestroy: true },
    });

    this.accessLogGroup = new CloudwatchLogGroup(this, 'access-logs', {
      name: `/aws/apigateway/${this.settings.name}/${env.name}/access`,
      retentionInDays: env.api.accessLogRetentionDays,
    });

    const account = env.manageApiGatewayAccount ? this.cloudWatchAccountRole(namePrefix, props.accountId) : undefined;

    this.stage = new ApiGatewayStage(this, 'stage', {
      restApiId: this.restApi.id,
      deploymentId: this.deployment.id,
      stageName: env.name,
      xrayTracingEnabled: env.processor.tracing,
      accessLogSettings: {
        destinationArn: this.accessLogGroup.arn,
        format: tfLiteral(JSON.stringify(ACCESS_LOG_FORMAT)),
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

    if (env.api.apiKeyRequired) {
      const plan = new ApiGatewayUsagePlan(this, 'usage-plan', {
        name: `${namePrefix}-events`,
        apiStages: [{ apiId: this.restApi.id, stage: this.stage.stageName }],
        throttleSettings: { rateLimit: env.api.throttlingRateLimit, burstLimit: env.api.throttlingBurstLimit },
        quotaSettings: env.api.dailyQuota ? { limit: env.api.dailyQuota, period: 'DAY' } : undefined,
      });
      const key = new ApiGatewayApiKey(this, 'api-key', { name: `${namePrefix}-default`, enabled: true });
      new ApiGatewayUsagePlanKey(this, 'usage-plan-key', { keyId: key.id, keyType: 'API_KEY', usagePlanId: plan.id });
      // The id, not the value: the value stays out of Terraform outputs and logs.
      new TerraformOutput(this, 'api-key-id', {
        value: key.id,
        description: 'aws apigateway get-api-key --include-value --api-key <id> prints the key to send as x-api-key',
      }).overrideLogicalId('api_key_id');
    }

    new CloudwatchMetricAlarm(this, 'alarm-4xx-rate', {
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
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
      alarmActions: [props.alarmTopicArn],
      okActions: [props.alarmTopicArn],
    });

    new CloudwatchMetricAlarm(this, 'alarm-5xx', {
      alarmName: `${this.settings.name}-5xx`,
      alarmDescription: 'The events API answered 5xx: events were not accepted.',
      namespace: 'AWS/ApiGateway',
      metricName: '5XXError',
      dimensions: { ApiName: this.settings.name, Stage: env.name },
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
      alarmActions: [props.alarmTopicArn],
      okActions: [props.alarmTopicArn],
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
    this.fingerprint.push({ family: family.name, stream: route.streamName, eventSchema, batchSchema, single, batch });

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

  private addRoute(
    scope: Construct,
    id: 'single' | 'batch',
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
      uri: `arn:aws:apigateway:${this.region}:kinesis:action/${action}`,
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
    const responses = integrationResponses(id).map(
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
    this.fingerprint.push({
      route: id,
      action,
      apiKeyRequired: this.settings.apiKeyRequired,
      origin: this.allowOrigin,
      methodStatusCodes: METHOD_STATUS_CODES,
      responses: integrationResponses(id),
    });
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
    this.fingerprint.push({ preflight: id, origin: this.allowOrigin, headers: CORS_ALLOW_HEADERS });
  }

  /** A deployment snapshots the API: it must come after every integration and response exists. */
  private dependOn(...resources: TerraformResource[]): void {
    this.deployment.dependsOn = [...(this.deployment.dependsOn ?? []), ...resources.map((r) => dependable(r))];
  }

  /**
   * API Gateway writes access logs with one account-wide role. Its policy covers
   * the project's API log groups in this account and region, whichever
   * environment last set it.
   */
  private cloudWatchAccountRole(namePrefix: string, accountId: string): ApiGatewayAccount {
    const role = serviceRole(this, 'cloudwatch-role', `${namePrefix}-apigateway-logs`, 'apigateway.amazonaws.com');
    const logGroups = `arn:aws:logs:${this.region}:${accountId}:log-group:/aws/apigateway/${PROJECT}-*`;
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
          resources: [`arn:aws:logs:${this.region}:${accountId}:log-group:*`],
        },
      ]).json,
    });
    return new ApiGatewayAccount(this, 'account', { cloudwatchRoleArn: role.arn });
  }
}

/** One JSON object per request; no bodies, no headers (they may carry API keys). */
const ACCESS_LOG_FORMAT = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  responseLength: '$context.responseLength',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  responseLatency: '$context.responseLatency',
  errorMessage: '$context.error.message',
  validationError: '$context.error.validationErrorString',
  apiKeyId: '$context.identity.apiKeyId',
};
