/**
 * Daily buckets and rolling windows. A window of N days at reference time T
 * covers the N UTC calendar days ending with T's day (T's day and the N-1 days
 * before it), so an event 7 days + 1 minute older than T is always outside the
 * 7-day window and inside the 14-day one. T is the newest event time the
 * entity has seen, never the processing time: replays and late batches give
 * the same numbers.
 */
import { dict, own, setOwn, tally } from './maps.js';

export const DAY_MS = 86_400_000;

export function dayIndex(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS);
}

export function dayKey(epochMs: number): string {
  return new Date(dayIndex(epochMs) * DAY_MS).toISOString().slice(0, 10);
}

export function dayIndexOfKey(key: string): number {
  return dayIndex(Date.parse(`${key}T00:00:00Z`));
}

export type DayBuckets = Record<string, Record<string, number>>;

/** Adds `amount` to `counter` in the bucket of `epochMs`. */
export function addToBucket(days: DayBuckets, epochMs: number, counter: string, amount = 1): void {
  const key = dayKey(epochMs);
  let bucket = own(days, key);
  if (bucket === undefined) setOwn(days, key, (bucket = dict()));
  tally(bucket, counter, amount);
}

/** Sum of `counter` over the `windowDays` days ending with the day of `asOfMs`. */
export function windowSum(days: DayBuckets, asOfMs: number, counter: string, windowDays: number): number {
  const last = dayIndex(asOfMs);
  let sum = 0;
  for (const [key, bucket] of Object.entries(days)) {
    const index = dayIndexOfKey(key);
    if (index <= last && index > last - windowDays) sum += own(bucket, counter) ?? 0;
  }
  return sum;
}

/** Drops buckets that can no longer fall in a window of `keepDays` ending at `asOfMs`. */
export function pruneBuckets(days: DayBuckets, asOfMs: number, keepDays: number): void {
  const oldest = dayIndex(asOfMs) - keepDays + 1;
  for (const key of Object.keys(days)) if (dayIndexOfKey(key) < oldest) delete days[key];
}

/** Whether an event at `epochMs` can still count in a window of `keepDays` ending at `asOfMs`. */
export function withinHorizon(epochMs: number, asOfMs: number, keepDays: number): boolean {
  return dayIndex(epochMs) > dayIndex(asOfMs) - keepDays;
}
