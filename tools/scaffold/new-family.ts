/**
 * `npm run new-family -- <name>`: scaffolds a family that works at once
 * (ARCHITECTURE.md, 3 the family): its definition, a processor with one
 * counted effect, a handler test against dynalite, and its entry in the family
 * list (handlers/families.ts). The app, the bundle build, local mode, the
 * generators and the family-wide tests then include it; the command prints
 * what to edit next.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as z from 'zod/mini';
import { defineFamily } from '../../handlers/runtime/family.js';

/** Thrown when a family cannot be scaffolded (bad name, folder or list entry already there); nothing was written. */
export class ScaffoldError extends Error {
  override name = 'ScaffoldError';
}

export interface ScaffoldResult {
  /** The files written, relative to the repository root. */
  readonly created: readonly string[];
  /** The TypeScript name of the definition (`demo_things` → `demoThings`). */
  readonly identifier: string;
  /** What to do next, for people. */
  readonly next: string;
}

/** The scaffolded family's example body (also the curl line printed). */
const EXAMPLE = { entity_id: 'e-1', kind: 'created', amount: 10 };

/** A flat object as a TypeScript literal, in the house style. */
const literal = (o: Record<string, string | number>) =>
  `{ ${Object.entries(o).map(([k, v]) => `${k}: ${typeof v === 'string' ? `'${v}'` : v}`).join(', ')} }`;
const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const pascal = (name: string) => camel(name).replace(/^./, (c) => c.toUpperCase());

/** Writes handlers/<name>/ and registers it in `<root>/handlers/families.ts`. */
export function scaffoldFamily(root: string, name: string): ScaffoldResult {
  try {
    // The same rule every definition is checked against, from its one place.
    defineFamily({ name, description: '', schema: z.object({}), partitionKey: [], idempotencyKey: 'event_id', example: {} });
  } catch (error) {
    throw new ScaffoldError((error as Error).message);
  }
  const dir = join(root, 'handlers', name);
  const listFile = join(root, 'handlers', 'families.ts');
  const identifier = camel(name);
  if (existsSync(dir)) throw new ScaffoldError(`handlers/${name}/ already exists`);
  const list = readFileSync(listFile, 'utf8');
  const registered = registerIn(list, name, identifier);

  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ['family.ts', familyTemplate(name)],
    ['handler.ts', handlerTemplate(name)],
    ['handler.test.ts', handlerTestTemplate(name)],
  ];
  for (const [file, text] of files) writeFileSync(join(dir, file), text);
  writeFileSync(listFile, registered);

  const rel = (file: string) => relative(root, join(dir, file));
  const commands: [string, string][] = [
    [`npx vitest run handlers/${name}`, 'the handler test (passes now)'],
    ['npm run synth', 'every stack now holds its stream, processor, alarms and routes'],
    ['npm start', `then: curl -s -X POST localhost:4010/events/${name} -H 'content-type: application/json' -d '${JSON.stringify(EXAMPLE)}'`],
    [`npm run send -- --family ${name} --count 100`, 'events derived from the schema and example'],
  ];
  const width = Math.max(...commands.map(([command]) => command.length));
  const next = [
    `Edit, in this order:`,
    `  ${rel('family.ts')}        the schema, the partition key (the entity your effects update), the example`,
    `  ${rel('handler.ts')}       route(): the effects of one event, each on one item (effect(): the runtime keys it "${name}#<entity>#<id>")`,
    `  ${rel('handler.test.ts')}  assert what your effects do`,
    `Then:`,
    ...commands.map(([command, why]) => `  ${command.padEnd(width)}  # ${why}`),
    `Infrastructure settings other than the environment's: FAMILY_OVERRIDES in modules/app.ts.`,
  ].join('\n');
  return { created: [...files.map(([file]) => rel(file)), relative(root, listFile)], identifier, next };
}

/** The list file with one more import and one more entry; refuses a list it cannot read. */
function registerIn(list: string, name: string, identifier: string): string {
  const lines = list.split('\n');
  const importLine = `import { ${identifier} } from './${name}/family.js';`;
  if (lines.includes(importLine)) throw new ScaffoldError(`${name} is already in handlers/families.ts`);
  const lastImport = lines.findLastIndex((l) => /^import .* from '\.\/[a-z0-9_]+\/family\.js';$/.test(l));
  const listStart = lines.findIndex((l) => l.startsWith('export const FAMILIES'));
  const listEnd = lines.findIndex((l, i) => i > listStart && l === '];');
  if (lastImport < 0 || listStart < 0 || listEnd < 0) {
    throw new ScaffoldError('handlers/families.ts no longer has one family import per line and a FAMILIES array ending in "];"');
  }
  lines.splice(listEnd, 0, `  ${identifier},`);
  lines.splice(lastImport + 1, 0, importLine);
  return lines.join('\n');
}

function familyTemplate(name: string): string {
  return `// A namespace import, not \`import { z }\`: esbuild then tree-shakes zod (14 KiB instead of 417 KiB with every locale).
import * as z from 'zod/mini';
import { defineFamily } from '../runtime/family.js';
import { entityId, eventId, isoTimestamp } from '../runtime/fields.js';

export const ${camel(name)} = defineFamily({
  name: '${name}',
  description: 'TODO: one line on what these events are.',
  schema: z.object({
    event_id: eventId(),
    entity_id: entityId(),
    kind: z.enum(['created', 'updated']),
    amount: z.optional(z.number().check(z.gte(0), z.lte(1_000_000))),
    timestamp: z.optional(isoTimestamp()),
  }),
  // The entity the processor's effects update: its events stay in order on one shard.
  partitionKey: ['entity_id'],
  idempotencyKey: 'event_id',
  example: ${literal(EXAMPLE)},
});

export type ${pascal(name)}Event = z.output<typeof ${camel(name)}.schema>;
`;
}

function handlerTemplate(name: string): string {
  return `import { createProcessor, effect } from '../runtime/index.js';
import { ${camel(name)}, type ${pascal(name)}Event } from './family.js';

interface Entity {
  entity_id: string;
  events: number;
  last_kind: ${pascal(name)}Event['kind'];
}

/**
 * The effects of one event, each on one item. The runtime keeps the item under
 * "${name}#<entity>#<id>", the only keys the processor's role may write (on AWS
 * and in local mode). An effect must be deterministic: after a write conflict it
 * runs again on the fresher item.
 */
export const route = (event: ${pascal(name)}Event) => [
  effect<Entity>({ entity: 'entity', id: event.entity_id, sort: 'entity' }, (s) => {
    s.entity_id = event.entity_id;
    s.events = (s.events ?? 0) + 1;
    s.last_kind = event.kind;
  }),
];

export const processor = createProcessor(${camel(name)}, route);
export const handler = processor.handler;
`;
}

function handlerTestTemplate(name: string): string {
  return `import { describe, expect, it } from 'vitest';
import { useHarness } from '../../test/support/harness.js';
import { kinesisEvent, records } from '../../test/support/kinesis.js';
import { ${camel(name)} } from './family.js';
import { handler } from './handler.js';

const h = useHarness();

describe('${name} processor', () => {
  it('counts each entity\\'s events, once, even when the batch is delivered again', async () => {
    const batch = kinesisEvent(records(${camel(name)}, [${camel(name)}.example, { ...${camel(name)}.example, kind: 'updated' }]));
    expect((await handler(batch)).batchItemFailures).toEqual([]);
    expect((await handler(batch)).batchItemFailures).toEqual([]);
    const item = (await h().scan()).find((i) => i.pk === '${name}#entity#e-1' && i.sk === 'entity');
    expect(item).toMatchObject({ entity_id: 'e-1', events: 2, last_kind: 'updated' });
    expect(h().sink.entries).toEqual([]);
  });
});
`;
}
