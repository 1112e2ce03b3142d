/**
 * Fault injection for soak tests: real failures the processors see through
 * their real SDK clients, not stubs.
 */
import { startProcessorProxy, type ProcessorProxy } from './dynamo-proxy.js';

export interface FaultOptions {
  /** Fraction of handler invocations that throw, as a crashing Lambda would. */
  readonly handlerCrashRate?: number;
  /** Fraction of the processors' DynamoDB requests answered with ProvisionedThroughputExceededException. */
  readonly dynamoThrottleRate?: number;
  /** Seed of the fault dice, so a soak run can be repeated. */
  readonly seed?: number;
}

/** mulberry32: small, seedable, good enough to pick faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type ThrottleProxy = ProcessorProxy;

/**
 * The processors' proxy with throttling only: a fraction of requests answered
 * the way DynamoDB does when a table is over its throughput (400 with the
 * JSON 1.0 error type, which the SDK turns into a retryable
 * ProvisionedThroughputExceededException).
 */
export async function startThrottleProxy(target: string, rate: number, random: () => number): Promise<ThrottleProxy> {
  return startProcessorProxy({ target, throttle: { rate, random } });
}
