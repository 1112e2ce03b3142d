// A namespace import, not `import { z }`: esbuild then tree-shakes zod (14 KiB instead of 417 KiB with every locale).
import * as z from 'zod/mini';

/**
 * Identifier fields end up inside hand-built JSON in the API's VTL templates
 * (partition keys, idempotency keys), so they are restricted at the edge to
 * characters that never need escaping.
 */
export const entityId = () => z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/));

/** ISO-8601 instant with an explicit offset, e.g. 2026-11-23T10:00:00Z. */
export const isoTimestamp = () => z.iso.datetime({ offset: true });

/** ISO 4217 currency code. */
export const currency = () => z.string().check(z.regex(/^[A-Z]{3}$/));

export const money = () => z.number().check(z.gte(0), z.lte(1_000_000_000));

/** Optional client idempotency key: the same key sent twice is applied once. */
export const eventId = () => z.optional(entityId());
