/**
 * The stage that serves the API's deployment: access logs (one JSON object per
 * request, no bodies), X-Ray when the environment traces, and the stage-wide
 * throttle with execution logging off.
 */
import { ApiGatewayMethodSettings } from '@cdktf/provider-aws/lib/api-gateway-method-settings/index.js';
import { ApiGatewayStage } from '@cdktf/provider-aws/lib/api-gateway-stage/index.js';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import type { ITerraformDependable } from 'cdktf';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../environments.js';
import { tfLiteral } from '../iam.js';

export interface StageProps {
  readonly environment: EnvironmentConfig;
  /** The API's name, which the access log group's name carries. */
  readonly apiName: string;
  readonly restApiId: string;
  readonly deploymentId: string;
  /** The account-wide CloudWatch role, when this environment owns it: the stage's logging needs it first. @default none */
  readonly accountSettings?: ITerraformDependable;
}

export function buildStage(scope: Construct, props: StageProps): { stage: ApiGatewayStage; accessLogGroup: CloudwatchLogGroup } {
  const { environment: env, restApiId } = props;
  const accessLogGroup = new CloudwatchLogGroup(scope, 'access-logs', {
    name: `/aws/apigateway/${props.apiName}/${env.name}/access`,
    retentionInDays: env.api.accessLogRetentionDays,
  });
  const stage = new ApiGatewayStage(scope, 'stage', {
    restApiId,
    deploymentId: props.deploymentId,
    stageName: env.name,
    xrayTracingEnabled: env.processor.tracing,
    accessLogSettings: {
      destinationArn: accessLogGroup.arn,
      format: tfLiteral(accessLogFormat()),
    },
    dependsOn: props.accountSettings ? [props.accountSettings] : undefined,
  });
  new ApiGatewayMethodSettings(scope, 'stage-settings', {
    restApiId,
    stageName: stage.stageName,
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
  return { stage, accessLogGroup };
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
