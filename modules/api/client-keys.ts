/**
 * Per-client API keys: one usage plan per client, with its own throttle and
 * daily quota, so a leaked key costs that client's share only. API Gateway
 * generates each value, so no key is ever in code or Terraform configuration.
 */
import { ApiGatewayApiKey } from '@cdktf/provider-aws/lib/api-gateway-api-key/index.js';
import { ApiGatewayUsagePlan } from '@cdktf/provider-aws/lib/api-gateway-usage-plan/index.js';
import { ApiGatewayUsagePlanKey } from '@cdktf/provider-aws/lib/api-gateway-usage-plan-key/index.js';
import { TerraformOutput } from 'cdktf';
import type { Construct } from 'constructs';
import type { ApiClient } from '../environments.js';

export interface ClientKeysProps {
  readonly clients: readonly ApiClient[];
  /** `event-flow-<env>`: the plans' and keys' name prefix. */
  readonly namePrefix: string;
  readonly environmentName: string;
  readonly restApiId: string;
  readonly stageName: string;
}

export function buildClientKeys(scope: Construct, props: ClientKeysProps): void {
  const keyIds: Record<string, string> = {};
  for (const client of props.clients) {
    const plan = new ApiGatewayUsagePlan(scope, `usage-plan-${client.name}`, {
      name: `${props.namePrefix}-${client.name}`,
      description: `Events API access of ${client.name} (${props.environmentName})`,
      apiStages: [{ apiId: props.restApiId, stage: props.stageName }],
      throttleSettings: { rateLimit: client.rateLimit, burstLimit: client.burstLimit },
      quotaSettings: { limit: client.dailyQuota, period: 'DAY' },
    });
    const key = new ApiGatewayApiKey(scope, `api-key-${client.name}`, { name: `${props.namePrefix}-${client.name}`, enabled: true });
    new ApiGatewayUsagePlanKey(scope, `usage-plan-key-${client.name}`, { keyId: key.id, keyType: 'API_KEY', usagePlanId: plan.id });
    keyIds[client.name] = key.id;
  }
  // The ids, not the values: the values stay out of Terraform outputs and logs.
  new TerraformOutput(scope, 'api-key-ids', {
    value: keyIds,
    description: 'Per client: aws apigateway get-api-key --include-value --api-key <id> prints the key to send as x-api-key',
  }).overrideLogicalId('api_key_ids');
}
