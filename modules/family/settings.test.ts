import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { orders } from '../../handlers/orders/family.js';
import { ENVIRONMENT_NAMES, ENVIRONMENTS } from '../environments.js';
import { DEFAULT_FAILURE_RETENTION_DAYS } from '../failure-destination.js';
import { ALARM_DEFAULTS, ARCHIVE_DEFAULTS, EVENT_SOURCE_DEFAULTS, REPO_ROOT, resolveFamilySettings } from './settings.js';

describe('a family\'s settings: the environment\'s defaults, then the family\'s options', () => {
  it('with no options every setting is the environment\'s or the documented default', () => {
    for (const name of ENVIRONMENT_NAMES) {
      const env = ENVIRONMENTS[name];
      const s = resolveFamilySettings(orders, env, {});
      expect(s.stream).toEqual(env.stream);
      expect(s.processor).toEqual(env.processor);
      expect(s.eventSource).toEqual({ ...EVENT_SOURCE_DEFAULTS, ...env.eventSource, reportBatchItemFailures: true });
      expect(s.alarms).toEqual(ALARM_DEFAULTS);
      expect(s.archive).toEqual(env.archive ? ARCHIVE_DEFAULTS : false);
      expect(s.failureRetentionDays).toBe(DEFAULT_FAILURE_RETENTION_DAYS);
      expect(s.bundleDir).toBe(resolve(REPO_ROOT, 'dist/handlers/orders'));
    }
  });

  it('an option overrides only the fields it names', () => {
    const env = ENVIRONMENTS.prod;
    const s = resolveFamilySettings(orders, env, {
      stream: { retentionHours: 72 },
      processor: { memorySize: 2048 },
      eventSource: { batchSize: 7 },
      alarms: { malformedPercent: 1 },
      archive: { bufferingIntervalSeconds: 60 },
      failureRetentionDays: 30,
      bundleDir: '/tmp/elsewhere',
    });
    expect(s.stream).toEqual({ ...env.stream, retentionHours: 72 });
    expect(s.processor).toEqual({ ...env.processor, memorySize: 2048 });
    expect(s.eventSource.batchSize).toBe(7);
    expect(s.eventSource.maximumBatchingWindowInSeconds).toBe(env.eventSource.maximumBatchingWindowInSeconds);
    expect(s.alarms).toEqual({ ...ALARM_DEFAULTS, malformedPercent: 1 });
    expect(s.archive).toEqual({ ...ARCHIVE_DEFAULTS, bufferingIntervalSeconds: 60 });
    expect(s.failureRetentionDays).toBe(30);
    expect(s.bundleDir).toBe('/tmp/elsewhere');
  });

  it('archive: true and false override the environment either way', () => {
    for (const name of ENVIRONMENT_NAMES) {
      expect(resolveFamilySettings(orders, ENVIRONMENTS[name], { archive: true }).archive).toEqual(ARCHIVE_DEFAULTS);
      expect(resolveFamilySettings(orders, ENVIRONMENTS[name], { archive: false }).archive).toBe(false);
    }
  });
});
