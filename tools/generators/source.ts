import { FAMILIES, familyByName } from '../../handlers/families.js';
import { MixedGenerator, malform, type GeneratorOptions } from './families.js';
import { Prng } from './prng.js';
import type { SendItem } from './sender.js';

export interface SourceOptions extends GeneratorOptions {
  families: readonly string[];
  /** Fraction of events replaced by a malformed variant. */
  malformed: number;
  /** Stop after this many events (undefined: never). */
  count?: number;
}

/** The generator as a pull source for the sender: a mix of families with a malformed fraction. */
export function eventSource(options: SourceOptions): () => SendItem | undefined {
  const names = options.families.length > 0 ? options.families : FAMILIES.map((f) => f.name);
  const mixed = new MixedGenerator(names, options);
  const prng = new Prng(options.seed ^ 0x2545f491);
  let produced = 0;
  return () => {
    if (options.count !== undefined && produced >= options.count) return undefined;
    produced += 1;
    const event = mixed.next();
    if (options.malformed > 0 && prng.chance(options.malformed)) {
      const bad = malform(prng, familyByName(event.family), event.body);
      return { family: event.family, raw: bad.raw, malformed: bad.kind };
    }
    return { family: event.family, body: event.body };
  };
}
