/**
 * A small seeded PRNG (mulberry32). Math.random cannot be seeded, and the
 * generator must produce the same events for the same seed so that a bench or
 * soak run can be reproduced and a failing reconciliation replayed.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    // Mix the seed so that seeds 1, 2, 3 do not start in correlated states.
    this.state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, maxInclusive: number): number {
    return min + Math.floor(this.next() * (maxInclusive - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Skewed pick: low indexes are much more likely, like real user/customer popularity. */
  pickSkewed<T>(items: readonly T[], skew = 2): T {
    const item = items[Math.floor(Math.pow(this.next(), skew) * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Weighted choice over [value, weight] pairs. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    const total = choices.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [value, weight] of choices) {
      r -= weight;
      if (r < 0) return value;
    }
    return choices[choices.length - 1]![0];
  }

  /** Approximately normal (Irwin-Hall with 4 terms), enough for ratings and scores. */
  normal(mean: number, sd: number): number {
    const u = this.next() + this.next() + this.next() + this.next() - 2;
    return mean + u * sd * Math.sqrt(3);
  }
}

export function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
