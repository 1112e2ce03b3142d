export { createProcessor, type ProcessorOptions, type Route } from './processor.js';
export { effect, ItemKeyError, type Apply, type Effect, type ItemKey } from './effect.js';
export type { Alert, AlertDraft, RecordContext, Severity, State } from './types.js';
export { numberFromEnv } from './config.js';
export * from './time.js';
export { dict, own, setOwn, tally, type Dict } from './maps.js';
export { PoisonRecordError } from './errors.js';

/** Round money to cents so float sums compare as the amounts people see. */
export const cents = (amount: number) => Math.round(amount * 100) / 100;
export const iso = (epochMs: number) => new Date(epochMs).toISOString();
