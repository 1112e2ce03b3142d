import { numberFromEnv } from '../runtime/config.js';

export const userActivityConfig = {
  /** Daily activity items expire (DynamoDB TTL) this many days after their day. */
  dayRetentionDays: numberFromEnv('USER_ACTIVITY_DAY_RETENTION_DAYS', 90),
};
