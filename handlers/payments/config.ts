import { numberFromEnv } from '../runtime/config.js';

export const paymentsConfig = {
  /** Captured total and order amount may differ by this much (currency units) before an alert. */
  amountTolerance: numberFromEnv('PAYMENTS_AMOUNT_TOLERANCE', 0.005),
};
