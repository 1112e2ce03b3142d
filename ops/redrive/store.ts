/**
 * Where redrive finds failed records: a family's on-failure destination, the
 * S3 bucket the stack created (on AWS) or local mode's folder laid out the
 * same way. One interface, so the redrive itself does not know which.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  FAILURE_KEY_PREFIX,
  readFailureRecords,
  removeFailureObject,
  writeFailureObject,
  type FailureObject,
  type StoredFailure,
} from '../../local/failure-store.js';

export interface FailureStore {
  /** For people: `s3://bucket` or the folder. */
  readonly location: string;
  /** Every failure object, in key order. */
  list(): Promise<StoredFailure[]>;
  /** Replaces an object (records still failing stay, with the new reason). */
  put(key: string, body: FailureObject): Promise<void>;
  remove(key: string): Promise<void>;
}

export function localFailureStore(stateDir: string, family: string): FailureStore {
  return {
    location: `${stateDir}/failures/${family}`,
    list: async () => readFailureRecords(stateDir, family),
    put: async (key, body) => writeFailureObject(stateDir, family, key, body),
    remove: async (key) => removeFailureObject(stateDir, family, key),
  };
}

export function s3FailureStore(s3: S3Client, bucket: string, family: string): FailureStore {
  return {
    location: `s3://${bucket}`,
    async list() {
      const found: StoredFailure[] = [];
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: FAILURE_KEY_PREFIX })) {
        for (const object of page.Contents ?? []) {
          const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }));
          found.push({ family, key: object.Key!, body: JSON.parse(await got.Body!.transformToString('utf8')) as FailureObject });
        }
      }
      // ListObjectsV2 returns keys in UTF-8 binary order, which is already key order; sorted again for the local twin's sake.
      return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async put(key, body) {
      // The bucket's default encryption (SSE-KMS, the environment key) applies; no per-object setting.
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(body), ContentType: 'application/json' }));
    },
    async remove(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };
}

export class FailureBucketNotFoundError extends Error {
  constructor(prefix: string, found: readonly string[]) {
    super(
      found.length === 0
        ? `no bucket starts with "${prefix}" in this account: is the stack deployed, and are these the right credentials and region? (--bucket names it)`
        : `several buckets start with "${prefix}" (${found.join(', ')}): name one with --bucket`,
    );
    this.name = 'FailureBucketNotFoundError';
  }
}

/** The family's failure bucket: the stack names it with a fixed prefix plus a suffix Terraform picks. */
export async function findFailureBucket(s3: S3Client, prefix: string): Promise<string> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListBucketsCommand({ Prefix: prefix, ContinuationToken: token }));
    names.push(...(page.Buckets ?? []).map((b) => b.Name!).filter((n) => n.startsWith(prefix)));
    token = page.ContinuationToken;
  } while (token);
  if (names.length !== 1) throw new FailureBucketNotFoundError(prefix, names);
  return names[0]!;
}
