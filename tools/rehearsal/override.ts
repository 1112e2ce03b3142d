/**
 * The Terraform override file that points a copy of a synthesized stack at
 * moto: provider endpoints, dummy credentials, the skip_* flags, a state file
 * next to the copy, and `ignore_changes` for exactly the attributes moto does
 * not round-trip (MOTO_GAPS). The product's configuration is never changed.
 */

/** Services the stacks call; each is pointed at moto. */
export const SERVICES = ['apigateway', 'cloudwatch', 'dynamodb', 'events', 'firehose', 'iam', 'kinesis', 'kms', 'lambda', 'logs', 's3', 'sns', 'sqs', 'sts'] as const;

export interface MotoGap {
  readonly resourceType: string;
  readonly attributes: readonly string[];
  /** What moto does differently from AWS (seen with moto 5.2.1 and provider 5.100). */
  readonly gap: string;
}

/**
 * Attributes moto does not read back as AWS does, so a plan right after apply
 * would show a change that AWS would not. Each was found by a rehearsal whose
 * plan-after-apply listed it, and checked against moto directly.
 */
export const MOTO_GAPS: readonly MotoGap[] = [
  {
    resourceType: 'aws_kinesis_stream',
    attributes: ['tags', 'tags_all'],
    gap: 'moto ignores the Tags parameter of CreateStream (the provider tags streams at creation), so ListTagsForStream returns none',
  },
  {
    resourceType: 'aws_lambda_function',
    attributes: ['logging_config'],
    gap: 'moto does not store LoggingConfig (log format and group) and GetFunction returns none',
  },
];

/**
 * Resources moto cannot create at all: the rehearsal copy gives them `count = 0`
 * (nothing else refers to them), so the rest of the graph is still applied. Each
 * was checked against moto directly with the AWS CLI.
 */
export const MOTO_UNSUPPORTED: readonly MotoGap[] = [
  {
    resourceType: 'aws_s3_bucket_metric',
    attributes: [],
    gap: 'moto 5.2.1 answers PutBucketMetricsConfiguration with CreateBucket\'s IllegalLocationConstraintException outside us-east-1 (the failure buckets\' request-metrics filter, which only their alarm reads)',
  },
];

type Json = Record<string, unknown>;

export function motoOverride(stack: { resource?: Record<string, Record<string, unknown>> }, options: { endpoint: string; statePath: string; region: string }): Json {
  const resource: Record<string, Record<string, Json>> = {};
  for (const { resourceType, attributes } of MOTO_GAPS) {
    for (const id of Object.keys(stack.resource?.[resourceType] ?? {})) {
      (resource[resourceType] ??= {})[id] = { lifecycle: { ignore_changes: [...attributes] } };
    }
  }
  for (const { resourceType } of MOTO_UNSUPPORTED) {
    for (const id of Object.keys(stack.resource?.[resourceType] ?? {})) (resource[resourceType] ??= {})[id] = { count: 0 };
  }
  return {
    terraform: { backend: { local: { path: options.statePath } } },
    provider: {
      aws: {
        region: options.region,
        access_key: 'rehearsal',
        secret_key: 'rehearsal',
        skip_credentials_validation: true,
        skip_requesting_account_id: true,
        skip_metadata_api_check: 'true',
        s3_use_path_style: true,
        endpoints: [Object.fromEntries(SERVICES.map((service) => [service, options.endpoint]))],
      },
    },
    ...(Object.keys(resource).length > 0 ? { resource } : {}),
  };
}

/**
 * Settings changed just before the destroy, each with its reason. Applied
 * only then, so the plan after apply checks the product's own settings.
 */
export const TEARDOWN_SETTINGS: ReadonlyArray<{ readonly resourceType: string; readonly attribute: string; readonly value: unknown; readonly why: string }> = [
  {
    resourceType: 'aws_dynamodb_table',
    attribute: 'deletion_protection_enabled',
    value: false,
    why: 'prod\'s table has deletion protection: AWS, and moto, refuse DeleteTable while it is on; an operator tearing down lifts it first',
  },
  {
    resourceType: 'aws_api_gateway_account',
    attribute: 'reset_on_delete',
    value: false,
    why:
      'moto gap: UpdateAccount answers 500 (KeyError \'value\' in moto/apigateway/models.py) to the value-less patch operation ' +
      'reset_on_delete sends, and the SDK retries for many minutes; AWS accepts it',
  },
];

/** The teardown override and the addresses it changes (for `apply -target`), or undefined when nothing is protected. */
export function teardownOverride(stack: { resource?: Record<string, Record<string, Record<string, unknown>>> }): { override: Json; targets: string[] } | undefined {
  const resource: Record<string, Record<string, Json>> = {};
  const targets: string[] = [];
  for (const { resourceType, attribute, value } of TEARDOWN_SETTINGS) {
    for (const [id, block] of Object.entries(stack.resource?.[resourceType] ?? {})) {
      if (block[attribute] === undefined || block[attribute] === value) continue;
      (resource[resourceType] ??= {})[id] = { [attribute]: value };
      targets.push(`${resourceType}.${id}`);
    }
  }
  return targets.length > 0 ? { override: { resource }, targets } : undefined;
}
