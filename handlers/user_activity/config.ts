import { numberFromEnv } from '../runtime/config.js';

export const userActivityConfig = {
  /** Daily activity items expire (DynamoDB TTL) this many days after their day. */
  dayRetentionDays: numberFromEnv('USER_ACTIVITY_DAY_RETENTION_DAYS', 90),
  /**
   * Distinct action names counted per profile or day item; further names count
   * in `other_actions` only, so an item never grows with the names clients invent.
   */
  maxActions: numberFromEnv('USER_ACTIVITY_MAX_ACTIONS', 100),
};
