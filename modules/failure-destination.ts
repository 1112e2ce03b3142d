/**
 * The on-failure destination of one family's event source mapping: an S3
 * bucket. For Kinesis (and DynamoDB stream) sources Lambda writes one object
 * per discarded batch holding the failure record AND the invocation payload
 * (the records themselves), whereas an SQS or SNS destination only gets a
 * shard and a sequence range, which is worthless once the stream has trimmed
 * the records (24 h in dev and staging).
 *
 * Source: AWS Lambda Developer Guide, "Retain discarded batch records for a
 * Kinesis Data Streams event source in Lambda"
 * (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html):
 * "For Amazon S3 destinations, Lambda also sends the entire invocation record
 * along with the metadata"; objects are named
 * `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>`;
 * the execution role needs `s3:PutObject` and `s3:ListBucket`.
 */
import type { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { pagingAlarm } from './alarm.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import type { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
import { S3BucketMetric } from '@cdktf/provider-aws/lib/s3-bucket-metric/index.js';
import type { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { Construct } from 'constructs';
import { policyDocument } from './iam.js';
import { privateBucket } from './private-bucket.js';

/**
 * How long failure records (and with them the failed records' payloads) are
 * kept: as long as the SQS dead-letter queue this replaces kept its messages
 * (14 days, the most SQS allows). The malformed sink's items expire after the
 * same time (`MALFORMED_TTL_SECONDS`), so every kept payload lives as long.
 */
export const DEFAULT_FAILURE_RETENTION_DAYS = 14;

/** Where Lambda writes its objects (the documented key layout starts here). */
export const FAILURE_OBJECT_PREFIX = 'aws/lambda/';

/** The bucket's request-metrics filter (S3 reports PutRequests only for a configured filter). */
export const FAILURE_METRIC_FILTER = 'failure-records';

/**
 * The failure bucket's name prefix (the provider appends a unique suffix);
 * redrive finds the bucket by it.
 */
export function failureBucketPrefix(name: string): string {
  // Bucket names are global and have no underscores; 37 characters leave room for the provider's suffix.
  return `${name.replace(/_/g, '-')}-failures-`.slice(0, 37);
}

export interface FailureDestinationProps {
  /** `<project>-<env>-<family>`: bucket prefix and alarm name. */
  readonly name: string;
  /** The processor's execution role: Lambda writes the objects with it. */
  readonly role: IamRole;
  /** The environment key; objects are SSE-KMS with it (the role needs GenerateDataKey on it). */
  readonly key: KmsKey;
  /** Where the alarm on new failure objects notifies. */
  readonly alarmTopicArn: string;
  /**
   * Days a failure object is kept before S3 deletes it.
   * @default DEFAULT_FAILURE_RETENTION_DAYS (14)
   */
  readonly retentionDays?: number;
}

export class FailureDestination extends Construct {
  readonly bucket: S3Bucket;
  readonly retentionDays: number;
  readonly alarm: CloudwatchMetricAlarm;
  /** Grants the role what Lambda needs to write here; the mapping must depend on it. */
  readonly rolePolicy: IamRolePolicy;

  constructor(scope: Construct, id: string, props: FailureDestinationProps) {
    super(scope, id);
    this.retentionDays = props.retentionDays ?? DEFAULT_FAILURE_RETENTION_DAYS;
    if (!Number.isInteger(this.retentionDays) || this.retentionDays < 1) {
      throw new Error(`failure retention must be a whole number of days ≥ 1, got ${this.retentionDays}`);
    }
    // Kept on `terraform destroy` (forceDestroy off): a bucket still holding failed records must not vanish.
    const store = privateBucket(this, { bucket: 'bucket', publicAccess: 'public-access', ownership: 'ownership', encryption: 'encryption', policy: 'policy' }, {
      bucketPrefix: failureBucketPrefix(props.name),
      keyArn: props.key.arn,
    });
    const bucket = store.bucket;
    this.bucket = bucket;
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: bucket.id,
      rule: [
        {
          id: 'expire-failure-records',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          expiration: [{ days: this.retentionDays }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
      ],
    });
    store.denyInsecureTransport();

    this.rolePolicy = new IamRolePolicy(this, 'role-policy', {
      role: props.role.id,
      name: 'failure-destination',
      policy: policyDocument(this, 'role-policy-document', [
        {
          // Lambda checks the bucket with ListBucket before it writes (both documented as required).
          sid: 'FindFailureBucket',
          effect: 'Allow',
          actions: ['s3:ListBucket'],
          resources: [bucket.arn],
        },
        {
          sid: 'WriteFailureRecords',
          effect: 'Allow',
          actions: ['s3:PutObject'],
          resources: [`${bucket.arn}/${FAILURE_OBJECT_PREFIX}*`],
        },
      ]).json,
    });

    // Request metrics exist only for a configured filter; this one counts Lambda's (and redrive's) writes.
    const metricName = FAILURE_METRIC_FILTER;
    new S3BucketMetric(this, 'put-metric', {
      bucket: bucket.id,
      name: metricName,
      filter: { prefix: FAILURE_OBJECT_PREFIX },
    });
    this.alarm = pagingAlarm(this, 'alarm', props.alarmTopicArn, {
      alarmName: `${props.name}-failure-records`,
      alarmDescription: `Records gave up and were written, with their payload, to the failure bucket (kept ${this.retentionDays} days; npm run redrive).`,
      namespace: 'AWS/S3',
      metricName: 'PutRequests',
      dimensions: { BucketName: bucket.id, FilterId: metricName },
      statistic: 'Sum',
      period: 60,
      evaluationPeriods: 1,
      threshold: 0,
    });
  }
}
