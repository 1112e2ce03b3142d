import { numberFromEnv } from '../runtime/config.js';

/** The operations dashboard's thresholds. */
export const tutoringConfig = {
  /** A student with at least this many IB calls in `ibCallWindowDays` raises high_ib_call_frequency. */
  ibCallThreshold: numberFromEnv('TUTORING_IB_CALL_THRESHOLD', 3),
  ibCallWindowDays: numberFromEnv('TUTORING_IB_CALL_WINDOW_DAYS', 14),
  /** Health score below this is a warning... */
  healthWarningBelow: numberFromEnv('TUTORING_HEALTH_WARNING_BELOW', 70),
  /** ...and below this, critical. */
  healthCriticalBelow: numberFromEnv('TUTORING_HEALTH_CRITICAL_BELOW', 50),
};

/** Rolling windows materialised on every aggregate, in days; buckets older than the longest are pruned. */
export const WINDOWS = [7, 14, 30] as const;
export const HORIZON_DAYS = Math.max(...WINDOWS, tutoringConfig.ibCallWindowDays);
