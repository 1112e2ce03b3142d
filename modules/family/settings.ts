/**
 * A family's settings: the environment's defaults merged with the family's
 * overrides, here and nowhere else. The builders in this folder and the
 * local-mode deployment record read only the resolved result.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FamilyDefinition } from '../../handlers/runtime/family.js';
import type { EventSourceSettings } from '../deployment.js';
import type { EnvironmentConfig, ProcessorDefaults, StreamDefaults } from '../environments.js';
import { DEFAULT_FAILURE_RETENTION_DAYS } from '../failure-destination.js';

/** The repository root: bundle folders are resolved against it and recorded relative to it. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface ArchiveSettings {
  /**
   * Firehose buffers this many MB before it writes an object.
   * @default 5 (with the interval below, objects stay few and large)
   */
  readonly bufferingSizeMb: number;
  /**
   * ... or this many seconds, whichever comes first.
   * @default 300
   */
  readonly bufferingIntervalSeconds: number;
}

export interface AlarmSettings {
  /**
   * Seconds the processor may fall behind the stream before the iterator-age alarm fires.
   * @default 60
   */
  readonly iteratorAgeSeconds: number;
  /**
   * Percentage of malformed incoming events above which the malformed-rate alarm fires.
   * @default 5
   */
  readonly malformedPercent: number;
}

/** Everything about one family that may differ from its environment's defaults. */
export interface FamilyOptions {
  /**
   * Stream capacity, retention, key and metrics.
   * @default the environment's `stream`
   */
  readonly stream?: Partial<StreamDefaults>;
  /**
   * The processor function's runtime, memory, timeout, tracing, logging and VPC.
   * @default the environment's `processor`
   */
  readonly processor?: Partial<ProcessorDefaults>;
  /**
   * The event source mapping (`reportBatchItemFailures` is always on).
   * @default EVENT_SOURCE_DEFAULTS with the environment's batch size, window and parallelization factor
   */
  readonly eventSource?: Partial<Omit<EventSourceSettings, 'reportBatchItemFailures'>>;
  /**
   * Alarm thresholds.
   * @default ALARM_DEFAULTS
   */
  readonly alarms?: Partial<AlarmSettings>;
  /**
   * A Firehose archive of the stream to S3: `true` for ARCHIVE_DEFAULTS, `false` for none, or buffering overrides.
   * @default the environment's `archive`
   */
  readonly archive?: boolean | Partial<ArchiveSettings>;
  /**
   * Days failed records (with their payload) and malformed records are kept.
   * @default DEFAULT_FAILURE_RETENTION_DAYS (14)
   */
  readonly failureRetentionDays?: number;
  /**
   * Folder of the built bundle, relative to the repository root or absolute.
   * @default `dist/handlers/<family>` (scripts/build.ts writes it)
   */
  readonly bundleDir?: string;
}

/** The resolved settings of one family in one environment. */
export interface FamilySettings {
  readonly stream: StreamDefaults;
  readonly processor: ProcessorDefaults;
  readonly eventSource: EventSourceSettings;
  readonly alarms: AlarmSettings;
  /** `false`: no archive. */
  readonly archive: ArchiveSettings | false;
  readonly failureRetentionDays: number;
  /** Absolute path of the bundle folder. */
  readonly bundleDir: string;
}

export const ALARM_DEFAULTS: AlarmSettings = {
  // A minute behind is already visible on a live dashboard.
  iteratorAgeSeconds: 60,
  // More than 5 % malformed means a client or a schema is broken.
  malformedPercent: 5,
};

export const ARCHIVE_DEFAULTS: ArchiveSettings = { bufferingSizeMb: 5, bufferingIntervalSeconds: 300 };

/** The mapping settings no environment changes. */
export const EVENT_SOURCE_DEFAULTS = {
  // TRIM_HORIZON: a new or re-created mapping processes what is already in the stream instead of skipping it.
  startingPosition: 'TRIM_HORIZON',
  // Halving a failing batch isolates a poison record in log2(batch) retries instead of blocking the shard.
  bisectBatchOnFunctionError: true,
  // 3 retries cover throttling blips; anything still failing goes to the failure bucket.
  maximumRetryAttempts: 3,
  // One hour: well inside the shortest retention (24 h), so nothing expires unseen before reaching the failure bucket.
  maximumRecordAgeInSeconds: 3_600,
} as const satisfies Partial<EventSourceSettings>;

export function resolveFamilySettings(family: FamilyDefinition, environment: EnvironmentConfig, options: FamilyOptions): FamilySettings {
  const eventSource: EventSourceSettings = {
    startingPosition: EVENT_SOURCE_DEFAULTS.startingPosition,
    batchSize: environment.eventSource.batchSize,
    maximumBatchingWindowInSeconds: environment.eventSource.maximumBatchingWindowInSeconds,
    bisectBatchOnFunctionError: EVENT_SOURCE_DEFAULTS.bisectBatchOnFunctionError,
    maximumRetryAttempts: EVENT_SOURCE_DEFAULTS.maximumRetryAttempts,
    maximumRecordAgeInSeconds: EVENT_SOURCE_DEFAULTS.maximumRecordAgeInSeconds,
    parallelizationFactor: environment.eventSource.parallelizationFactor,
    reportBatchItemFailures: true,
    ...options.eventSource,
  };
  if (eventSource.parallelizationFactor !== 1) {
    // The processors fence each item per shard (handlers/runtime/apply.ts), which is only sound while Lambda
    // runs one batch per shard at a time: with a factor above 1 it keeps order only per partition key, and
    // which key goes to which concurrent batch is not documented.
    throw new Error(
      `${family.name}: parallelizationFactor ${eventSource.parallelizationFactor} is not supported; the processors apply each shard's ` +
        `records in order with one fence per shard and need parallelizationFactor 1. Add shards to process more in parallel.`,
    );
  }
  const archive = options.archive ?? environment.archive;
  return {
    stream: { ...environment.stream, ...options.stream },
    processor: { ...environment.processor, ...options.processor },
    eventSource,
    alarms: { ...ALARM_DEFAULTS, ...options.alarms },
    archive: archive === false ? false : { ...ARCHIVE_DEFAULTS, ...(archive === true ? {} : archive) },
    failureRetentionDays: options.failureRetentionDays ?? DEFAULT_FAILURE_RETENTION_DAYS,
    bundleDir: resolve(REPO_ROOT, options.bundleDir ?? `dist/handlers/${family.name}`),
  };
}
