/** The family's Kinesis stream, and its settings as local mode creates it. */
import { KinesisStream } from '@cdktf/provider-aws/lib/kinesis-stream/index.js';
import type { Construct } from 'constructs';
import type { StreamSettings } from '../deployment.js';
import type { StreamDefaults } from '../environments.js';

export interface FamilyStreamProps {
  /** `<project>-<env>-<family>`. */
  readonly name: string;
  readonly settings: StreamDefaults;
  /**
   * The customer key encrypting the stream.
   * @default none: the AWS-managed `alias/aws/kinesis`
   */
  readonly keyArn?: string;
}

export interface FamilyStream {
  readonly stream: KinesisStream;
  readonly settings: StreamSettings;
}

export function buildStream(scope: Construct, props: FamilyStreamProps): FamilyStream {
  const { name, settings } = props;
  const stream = new KinesisStream(scope, 'stream', {
    name,
    streamModeDetails: { streamMode: settings.mode },
    shardCount: settings.mode === 'PROVISIONED' ? settings.shardCount : undefined,
    retentionPeriod: settings.retentionHours,
    encryptionType: 'KMS',
    kmsKeyId: props.keyArn ?? 'alias/aws/kinesis',
    shardLevelMetrics: settings.shardLevelMetrics
      ? ['IncomingRecords', 'IncomingBytes', 'WriteProvisionedThroughputExceeded', 'IteratorAgeMilliseconds']
      : undefined,
  });
  return {
    stream,
    settings: {
      name,
      mode: settings.mode,
      // AWS starts an on-demand stream with 4 shards; local mode creates as many.
      shardCount: settings.mode === 'ON_DEMAND' ? 4 : settings.shardCount,
      retentionHours: settings.retentionHours,
    },
  };
}
