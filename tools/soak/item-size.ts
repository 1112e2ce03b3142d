/**
 * An item's size as DynamoDB counts it against the 400 KB item limit, from
 * "Item sizes and formats" in the DynamoDB Developer Guide
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * attribute names and strings in UTF-8 bytes, binary in bytes, a number about
 * one byte per two significant digits plus one, null and booleans one byte, a
 * list or map 3 bytes plus one byte per element plus its elements (and, for a
 * map, its keys). Kept apart from the processors' code so the soak and the
 * hostile suite measure what the runtime writes, not what it thinks it writes.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** DynamoDB's maximum item size, names and values together (the guide's "400 KB" is 400 × 1024 bytes). */
export const DYNAMODB_ITEM_LIMIT_BYTES = 400 * 1024;

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

function numberSize(text: string): number {
  const digits = text.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

export function attributeValueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Bytes(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((n, s) => n + utf8Bytes(s), 0);
  if (value.NS) return value.NS.reduce((n, s) => n + numberSize(s), 0);
  if (value.BS) return value.BS.reduce((n, b) => n + b.byteLength, 0);
  if (value.L) return 3 + value.L.reduce((n, v) => n + 1 + attributeValueSize(v), 0);
  if (value.M) return 3 + Object.entries(value.M).reduce((n, [k, v]) => n + 1 + utf8Bytes(k) + attributeValueSize(v), 0);
  return 0;
}

/** The item's size in bytes as DynamoDB counts it. */
export function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((n, [name, value]) => n + utf8Bytes(name) + attributeValueSize(value), 0);
}

/** The largest item of a scan, with its key and size. */
export function largestItem(items: readonly Record<string, AttributeValue>[]): { pk: string; sk: string; bytes: number } | undefined {
  let best: { pk: string; sk: string; bytes: number } | undefined;
  for (const item of items) {
    const bytes = itemSize(item);
    if (!best || bytes > best.bytes) best = { pk: item.pk?.S ?? '?', sk: item.sk?.S ?? '?', bytes };
  }
  return best;
}
