/**
 * What every event generator shares: a per-family seeded PRNG, a simulated
 * clock for event timestamps, and client idempotency keys unique per run.
 */
import type { FamilyDefinition } from '../../handlers/runtime/family.js';
import { Prng } from './prng.js';

export type Body = Record<string, unknown>;

export interface GeneratorOptions {
  seed: number;
  /** Simulated clock start (ms since epoch); event timestamps advance from here. */
  epochMs: number;
  /** Prefix of every `event_id`, so two runs against the same table do not collide as client retries. */
  idPrefix: string;
}

export interface EventGenerator {
  readonly family: FamilyDefinition;
  next(): Body;
}

export abstract class BaseGenerator implements EventGenerator {
  protected readonly prng: Prng;
  private clock: number;
  private counter = 0;

  constructor(
    readonly family: FamilyDefinition,
    protected readonly options: GeneratorOptions,
  ) {
    // A per-family stream of randomness, so adding a family to a mix does not change another's events.
    let h = options.seed;
    for (const c of family.name) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
    this.prng = new Prng(h);
    this.clock = options.epochMs;
  }

  protected eventId(): string {
    this.counter += 1;
    return `${this.options.idPrefix}-${this.family.name}-${this.counter}`;
  }

  protected timestamp(): string {
    // Up to 2 s of simulated time between events: 20,000 events span about 5.5 hours.
    this.clock += this.prng.int(0, 2000);
    return new Date(this.clock).toISOString();
  }

  abstract next(): Body;
}
