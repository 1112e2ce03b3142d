/** The optional archive: Firehose copies the stream, gzipped and partitioned by hour, into a bucket of its own. */
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { KinesisFirehoseDeliveryStream } from '@cdktf/provider-aws/lib/kinesis-firehose-delivery-stream/index.js';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
import type { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import type { Construct } from 'constructs';
import { policyDocument, serviceRole } from '../iam.js';
import { privateBucket } from '../private-bucket.js';
import type { ArchiveSettings } from './settings.js';

export interface FamilyArchiveProps {
  /** `<project>-<env>-<family>`: bucket prefix, role and delivery stream names. */
  readonly name: string;
  readonly streamArn: string;
  /** The environment key: the archive objects are SSE-KMS with it (and the stream, when it uses a customer key). */
  readonly keyArn: string;
  /** Firehose's external id in its role's trust policy. */
  readonly accountId: string;
  readonly settings: ArchiveSettings;
}

export interface FamilyArchive {
  readonly bucket: S3Bucket;
  readonly deliveryStream: KinesisFirehoseDeliveryStream;
}

export function buildArchive(scope: Construct, props: FamilyArchiveProps): FamilyArchive {
  const { name, settings } = props;
  const store = privateBucket(
    scope,
    { bucket: 'archive-bucket', publicAccess: 'archive-public-access', ownership: 'archive-ownership', encryption: 'archive-encryption', policy: 'archive-bucket-policy' },
    // Bucket names have no underscores.
    { bucketPrefix: `${name.replace(/_/g, '-')}-archive-`.slice(0, 37), keyArn: props.keyArn },
  );
  const bucket = store.bucket;
  new S3BucketLifecycleConfiguration(scope, 'archive-lifecycle', {
    bucket: bucket.id,
    rule: [
      {
        id: 'tiering',
        status: 'Enabled',
        filter: [{ prefix: '' }],
        transition: [
          { days: 30, storageClass: 'STANDARD_IA' },
          { days: 90, storageClass: 'GLACIER' },
        ],
        expiration: [{ days: 365 }],
        abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
      },
    ],
  });
  store.denyInsecureTransport();

  // Firehose assumes its role with the account id as external id (Amazon Data Firehose Developer Guide,
  // "Controlling access with Amazon Data Firehose": the trust policy's sts:ExternalId condition).
  const role = serviceRole(scope, 'archive-role', `${name}-archive`, 'firehose.amazonaws.com', [
    { test: 'StringEquals', variable: 'sts:ExternalId', values: [props.accountId] },
  ]);
  const policy = new IamRolePolicy(scope, 'archive-role-policy', {
    role: role.id,
    name: 'archive',
    policy: policyDocument(scope, 'archive-role-policy-document', [
      {
        sid: 'ReadOwnStream',
        effect: 'Allow',
        actions: ['kinesis:DescribeStream', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards'],
        resources: [props.streamArn],
      },
      {
        sid: 'WriteArchive',
        effect: 'Allow',
        actions: ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:GetObject', 's3:ListBucket', 's3:ListBucketMultipartUploads', 's3:PutObject'],
        resources: [bucket.arn, `${bucket.arn}/*`],
      },
      {
        // The archive objects are SSE-KMS (multipart uploads need Decrypt too), and so is the stream with a customer key.
        sid: 'UseEnvironmentKey',
        effect: 'Allow',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.keyArn],
      },
    ]).json,
  });
  const partition = 'year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/';
  const deliveryStream = new KinesisFirehoseDeliveryStream(scope, 'archive', {
    name: `${name}-archive`,
    destination: 'extended_s3',
    kinesisSourceConfiguration: { kinesisStreamArn: props.streamArn, roleArn: role.arn },
    extendedS3Configuration: {
      bucketArn: bucket.arn,
      roleArn: role.arn,
      bufferingSize: settings.bufferingSizeMb,
      bufferingInterval: settings.bufferingIntervalSeconds,
      compressionFormat: 'GZIP',
      prefix: `events/${partition}`,
      errorOutputPrefix: `errors/${partition}!{firehose:error-output-type}/`,
      kmsKeyArn: props.keyArn,
    },
    dependsOn: [policy],
  });
  return { bucket, deliveryStream };
}
