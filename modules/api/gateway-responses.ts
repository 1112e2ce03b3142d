/**
 * API Gateway's own answers (bad body, unknown route, throttled, integration
 * failure) in the events API's error shape and with the CORS header, so a
 * browser client can read why it was refused.
 */
import { ApiGatewayGatewayResponse } from '@cdktf/provider-aws/lib/api-gateway-gateway-response/index.js';
import type { Construct } from 'constructs';
import { tfLiteral } from '../iam.js';
import { GATEWAY_RESPONSES, JSON_CONTENT_TYPE } from '../templates.js';

export function buildGatewayResponses(scope: Construct, restApiId: string, allowOrigin: string): ApiGatewayGatewayResponse[] {
  return Object.entries(GATEWAY_RESPONSES).map(
    ([type, spec]) =>
      new ApiGatewayGatewayResponse(scope, `gateway-response-${type.toLowerCase()}`, {
        restApiId,
        responseType: type,
        statusCode: spec.statusCode,
        responseTemplates: { [JSON_CONTENT_TYPE]: tfLiteral(spec.template) },
        responseParameters: {
          'gatewayresponse.header.Access-Control-Allow-Origin': `'${allowOrigin}'`,
          ...Object.fromEntries(Object.entries(spec.headers ?? {}).map(([name, value]) => [`gatewayresponse.header.${name}`, `'${value}'`])),
        },
      }),
  );
}
