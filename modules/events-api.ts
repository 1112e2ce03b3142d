/**
 * The unified REST API: `POST /events/<family>` → Kinesis PutRecord and
 * `POST /events/<family>/batch` → PutRecords, as AWS service integrations with
 * no Lambda in the request path. Templates, models and error mapping come from
 * modules/templates.ts and modules/models.ts, the same text local mode renders.
 */
import { createHash } from 'node:crypto';
import { ApiGatewayAccount } from '@cdktf/provider-aws/lib/api-gateway-account/index.js';
import { ApiGatewayDeployment } from '@cdktf/provider-aws/lib/api-gateway-deployment/index.js';
import { ApiGatewayIntegration } from '@cdktf/provider-aws/lib/api-gateway-integration/index.js';
import { ApiGatewayIntegrationResponse } from '@cdktf/provider-aws/lib/api-gateway-integration-response/index.js';
import { ApiGatewayMethod } from '@cdktf/provider-aws/lib/api-gateway-method/index.js';
import { ApiGatewayMethodResponse } from '@cdktf/provider-aws/lib/api-gateway-method-response/index.js';
import { ApiGatewayModel } from '@cdktf/provider-aws/lib/api-gateway-model/index.js';
import { ApiGatewayRequestValidator } from '@cdktf/provider-aws/lib/api-gateway-request-validator/index.js';
import { ApiGatewayResource } from '@cdktf/provider-aws/lib/api-gateway-resource/index.js';
import { ApiGatewayRestApi } from '@cdktf/provider-aws/lib/api-gateway-rest-api/index.js';
import { ApiGatewayStage } from '@cdktf/provider-aws/lib/api-gateway-stage/index.js';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { Lazy, TerraformResource, dependable } from 'cdktf';
import { Construct } from 'constructs';
import { buildApiAlarms } from './api/alarms.js';
import { buildClientKeys } from './api/client-keys.js';
import { buildGatewayResponses } from './api/gateway-responses.js';
import { buildStage } from './api/stage.js';
import type { FamilyDefinition } from '../handlers/runtime/family.js';
import type { ApiSettings } from './deployment.js';
import { PROJECT, type EnvironmentConfig } from './environments.js';
import { policyDocument, serviceRole, tfLiteral, type Statement } from './iam.js';
import { batchModel, compatBatchModel, eventModel, modelName } from './models.js';
import {
  JSON_CONTENT_TYPE,
  METHOD_STATUS_CODES,
  compatPutRecordsRequestTemplate,
  integrationResponses,
  putRecordRequestTemplate,
  putRecordsRequestTemplate,
} from './templates.js';

export interface EventsApiProps {
  /** The environment's settings: API throttle, authentication, CORS origin, log retention, tracing, account-settings owner. */
  readonly environment: EnvironmentConfig;
  /** `event-flow-<env>`: the prefix of the API's, roles' and keys' names. */
  readonly namePrefix: string;
  /** The account the API runs in (data.aws_caller_identity): scopes the CloudWatch role's log groups. */
  readonly accountId: string;
  /** From data.aws_partition. */
  readonly partition: string;
  /** The topic the API's alarms page. */
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
    this.allowOrigin = singleOrigin(env.api.corsAllowOrigins);
    this.settings = apiSettings(env, namePrefix);

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
    this.deployment = this.createDeployment();
    // The integration role's name is in its ARN, which integrations reference as a Terraform expression.
    this.publish(this.role, this.validator, this.eventsResource);
    this.dependOn(...buildGatewayResponses(this, this.restApi.id, this.allowOrigin));

    const accountSettings = env.ownsAccountSettings ? this.cloudWatchAccountRole(namePrefix, props.accountId) : undefined;
    ({ stage: this.stage, accessLogGroup: this.accessLogGroup } = buildStage(this, {
      environment: env,
      apiName: this.settings.name,
      restApiId: this.restApi.id,
      deploymentId: this.deployment.id,
      accountSettings,
    }));
    if (env.api.authentication.type === 'api-key') {
      buildClientKeys(this, {
        clients: env.api.authentication.clients,
        namePrefix,
        environmentName: env.name,
        restApiId: this.restApi.id,
        stageName: this.stage.stageName,
      });
    }
    buildApiAlarms(this, { apiName: this.settings.name, stageName: env.name, alarmTopicArn: props.alarmTopicArn });
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

  /** Published by the stage; redeployed whenever what it publishes changes (`published`). */
  private createDeployment(): ApiGatewayDeployment {
    return new ApiGatewayDeployment(this, 'deployment', {
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

/** REST API responses carry one static `Access-Control-Allow-Origin`, so the environment names exactly one. */
function singleOrigin(origins: readonly string[]): string {
  if (origins.length !== 1) {
    throw new Error(`corsAllowOrigins must hold exactly one origin or "*" (REST API responses carry one static origin), got ${origins.length}`);
  }
  return origins[0]!;
}

function apiSettings(env: EnvironmentConfig, namePrefix: string): ApiSettings {
  return {
    name: `${namePrefix}-events`,
    stageName: env.name,
    throttlingRateLimit: env.api.throttlingRateLimit,
    throttlingBurstLimit: env.api.throttlingBurstLimit,
    apiKeyRequired: env.api.authentication.type === 'api-key',
    corsAllowOrigins: env.api.corsAllowOrigins,
  };
}
