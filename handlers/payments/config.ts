import { numberFromEnv } from '../runtime/config.js';

export const paymentsConfig = {
  /** Captured total and order amount may differ by this much (currency units) before an alert. */
  amountTolerance: numberFromEnv('PAYMENTS_AMOUNT_TOLERANCE', 0.005),
  /**
   * Payments tracked one by one per order. Events of further payments of the
   * same order still count in the totals and alerts, and in
   * `untracked_payment_events`, without per-payment state (so a repeated status
   * of such a payment is counted again): the order's item never grows with them.
   */
  maxPaymentsPerOrder: numberFromEnv('PAYMENTS_MAX_PER_ORDER', 50),
};
