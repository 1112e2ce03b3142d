import type { Json } from './attributes.js';
import { PoisonRecordError } from './errors.js';

/**
 * An item's size as DynamoDB counts it against its 400 KB limit ("DynamoDB
 * item sizes and formats", Amazon DynamoDB Developer Guide,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * attribute names and strings in UTF-8 bytes; a number 1 byte per two
 * significant digits plus 1; null and booleans 1 byte; a list or map 3 bytes
 * plus 1 byte per element plus its elements (a map's keys count as names).
 */
export const MAX_ITEM_BYTES = 400 * 1024;
/** DynamoDB's limits on a partition key and a sort key value, in UTF-8 bytes. */
export const MAX_PARTITION_KEY_BYTES = 2048;
export const MAX_SORT_KEY_BYTES = 1024;

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

function numberSize(value: number): number {
  // Significant digits of the decimal form DynamoDB receives (leading and trailing zeroes trimmed).
  const digits = String(Math.abs(value)).replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

export function valueSize(value: Json): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8Bytes(value);
  if (typeof value === 'number') {
    // DynamoDB numbers are finite, 38 significant digits, magnitude 1E-130 to 9.9999E+125.
    if (!Number.isFinite(value) || Math.abs(value) >= 1e126) throw new PoisonRecordError('value_out_of_range', `the number ${value} cannot be stored in DynamoDB`);
    return numberSize(value);
  }
  if (Array.isArray(value)) return value.reduce<number>((n, v) => n + 1 + valueSize(v), 3);
  let size = 3;
  for (const [name, v] of Object.entries(value)) size += 1 + utf8Bytes(name) + valueSize(v);
  return size;
}

/** Bytes of a whole item (top-level attributes carry no per-element overhead). */
export function itemSize(item: Readonly<Record<string, Json | undefined>>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) if (value !== undefined) size += utf8Bytes(name) + valueSize(value);
  return size;
}

/** Why a key cannot be stored, or undefined when it can. */
export function keyProblem(key: { pk: string; sk: string }): string | undefined {
  const pk = utf8Bytes(key.pk);
  const sk = utf8Bytes(key.sk);
  if (pk > MAX_PARTITION_KEY_BYTES) return `partition key of ${pk} bytes exceeds DynamoDB's ${MAX_PARTITION_KEY_BYTES}`;
  if (sk > MAX_SORT_KEY_BYTES) return `sort key of ${sk} bytes exceeds DynamoDB's ${MAX_SORT_KEY_BYTES}`;
  if (pk === 0 || sk === 0) return 'empty key';
  return undefined;
}
