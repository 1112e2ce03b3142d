/**
 * The family list: the one place a family is registered. The app
 * (modules/app.ts), the bundle build, local mode, the event generators,
 * `npm run send` and the family-wide tests all iterate this list, so adding a
 * family is its folder plus one entry here (`npm run new-family -- <name>`
 * writes both). A family's processor is, by convention, the `handler` export
 * of `handlers/<name>/handler.ts`.
 *
 * This file imports only the definitions (zod/mini schemas), never the
 * processors, so modules/, local/ and scripts/ can import it without pulling
 * in the runtime or the AWS SDK.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FamilyDefinition } from './runtime/family.js';
import { orders } from './orders/family.js';
import { payments } from './payments/family.js';
import { tutoring } from './tutoring/family.js';
import { userActivity } from './user_activity/family.js';

export const FAMILIES: readonly FamilyDefinition[] = [
  userActivity,
  orders,
  payments,
  tutoring,
];

/** Thrown for a family name that is not in FAMILIES (a typo on a command line, a stale list). */
export class UnknownFamilyError extends Error {
  constructor(readonly family: string) {
    super(`unknown family "${family}" (known: ${FAMILIES.map((f) => f.name).join(', ')})`);
    this.name = 'UnknownFamilyError';
  }
}

export function familyByName(name: string): FamilyDefinition {
  const family = FAMILIES.find((f) => f.name === name);
  if (!family) throw new UnknownFamilyError(name);
  return family;
}

const handlersDir = fileURLToPath(new URL('.', import.meta.url));

/** The processor's source file, esbuild's entry point: `handlers/<name>/handler.ts`. */
export function processorEntry(family: FamilyDefinition): string {
  return join(handlersDir, family.name, 'handler.ts');
}
