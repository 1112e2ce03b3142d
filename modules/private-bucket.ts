/**
 * The stacks' S3 buckets (the failure destination, the archive) are alike:
 * private (public access blocked, bucket owner enforced), encrypted with a
 * KMS key and a bucket key (one KMS call per bucket-key period, not per
 * object), reachable over TLS only, and never force-destroyed with their data.
 */
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
import type { Construct } from 'constructs';
import { denyInsecureTransport, policyDocument } from './iam.js';

/** Construct ids of the bucket's resources: given, so that already deployed buckets keep their logical ids. */
export interface PrivateBucketIds {
  readonly bucket: string;
  readonly publicAccess: string;
  readonly ownership: string;
  readonly encryption: string;
  readonly policy: string;
}

export interface PrivateBucketProps {
  /** Bucket names are global; the provider appends a unique suffix to this prefix. */
  readonly bucketPrefix: string;
  readonly keyArn: string;
}

export interface PrivateBucket {
  readonly bucket: S3Bucket;
  /** Adds the TLS-only bucket policy; called last, so the synthesized order of resources stays as it was. */
  denyInsecureTransport(): void;
}

export function privateBucket(scope: Construct, ids: PrivateBucketIds, props: PrivateBucketProps): PrivateBucket {
  const bucket = new S3Bucket(scope, ids.bucket, { bucketPrefix: props.bucketPrefix, forceDestroy: false });
  new S3BucketPublicAccessBlock(scope, ids.publicAccess, {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new S3BucketOwnershipControls(scope, ids.ownership, { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } });
  new S3BucketServerSideEncryptionConfigurationA(scope, ids.encryption, {
    bucket: bucket.id,
    rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: props.keyArn }, bucketKeyEnabled: true }],
  });
  return {
    bucket,
    denyInsecureTransport() {
      new S3BucketPolicy(scope, ids.policy, {
        bucket: bucket.id,
        policy: policyDocument(scope, `${ids.policy}-document`, [denyInsecureTransport(['s3:*'], [bucket.arn, `${bucket.arn}/*`])]).json,
      });
    },
  };
}
