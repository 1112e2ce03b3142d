/**
 * The family list (handlers/families.ts) is complete and sound, and the
 * generator derived from a schema and an example produces valid, varied,
 * reproducible events, for every registered family and for a test-only family
 * with a union, a nested partition key, bounded integers and enums; the app
 * entry builds nothing and no shipped code or script imports it; the runtime
 * and its tests import no shipped family.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { FAMILIES, UnknownFamilyError, familyByName, processorEntry } from '../handlers/families.js';
import { defineFamily, type FamilyDefinition } from '../handlers/runtime/family.js';
import { entityId, eventId, isoTimestamp } from '../handlers/runtime/fields.js';
import { DerivedGenerator } from '../tools/generators/derived.js';
import type { Body } from '../tools/generators/generator.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const handlersDir = join(repoRoot, 'handlers');
const options = { seed: 7, epochMs: Date.parse('2026-11-01T00:00:00Z'), idPrefix: 'derived' };

const at = (body: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Body)[k] : undefined), body);
const partitionKeyOf = (family: FamilyDefinition, body: Body) => family.partitionKey.map((p) => at(body, p)).find((v) => v !== undefined);

describe('the family list', () => {
  it('holds every folder under handlers/ with a family.ts and a handler.ts, once each', () => {
    const folders = readdirSync(handlersDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && ['family.ts', 'handler.ts'].every((file) => existsSync(join(handlersDir, d.name, file))))
      .map((d) => d.name);
    expect([...FAMILIES.map((f) => f.name)].sort()).toEqual(folders.sort());
    expect(new Set(FAMILIES.map((f) => f.name)).size).toBe(FAMILIES.length);
  });

  it.each(FAMILIES.map((f) => [f.name, f] as const))('%s: its example passes its schema and its processor exports a handler', async (_, family) => {
    expect(family.schema.safeParse(family.example).success).toBe(true);
    const processor = (await import(pathToFileURL(processorEntry(family)).href)) as { handler?: unknown };
    expect(typeof processor.handler).toBe('function');
  });

  it('names the known families when asked for an unknown one', () => {
    expect(() => familyByName('no_such_family')).toThrow(UnknownFamilyError);
    expect(() => familyByName('no_such_family')).toThrow(new RegExp(FAMILIES.map((f) => f.name).join(', ')));
  });
});

const probe = defineFamily({
  name: 'derived_probe',
  description: 'Test-only: the shapes the derived generator must handle.',
  schema: z.discriminatedUnion('kind', [
    z.object({
      event_id: eventId(),
      kind: z.literal('reading'),
      timestamp: z.optional(isoTimestamp()),
      payload: z.object({ device_id: entityId(), level: z.int().check(z.gte(1), z.lte(5)), state: z.enum(['on', 'off', 'idle']) }),
    }),
    z.object({ event_id: eventId(), kind: z.literal('reset'), payload: z.object({ device_id: entityId() }) }),
  ]),
  partitionKey: ['payload.device_id'],
  idempotencyKey: 'event_id',
  example: { kind: 'reading', payload: { device_id: 'dev-1', level: 3, state: 'on' } },
});

describe.each([...FAMILIES, probe].map((f) => [f.name, f] as const))('the generator derived from %s', (_, family) => {
  const events = (seed = options.seed) => {
    const generator = new DerivedGenerator(family, { ...options, seed });
    return Array.from({ length: 300 }, () => generator.next());
  };

  it('makes valid events with fresh idempotency keys, many partition keys and a clock that moves forward', () => {
    const bodies = events();
    for (const body of bodies) expect(family.schema.safeParse(body).error).toBeUndefined();
    expect(new Set(bodies.map((b) => at(b, family.idempotencyKey))).size).toBe(bodies.length);
    expect(new Set(bodies.map((b) => partitionKeyOf(family, b))).size).toBeGreaterThan(50);
    const times = bodies.map((b) => Date.parse(String(b.timestamp)));
    expect(times.every((t, i) => Number.isFinite(t) && (i === 0 || t >= times[i - 1]!))).toBe(true);
  });

  it('is the same for the same seed and differs for another', () => {
    expect(events(1)).toEqual(events(1));
    expect(events(2)).not.toEqual(events(1));
  });
});

describe('the derived generator on the test-only family', () => {
  it('draws enum members and bounded integers, and keeps the example\'s branch of the union', () => {
    const generator = new DerivedGenerator(probe, options);
    const bodies = Array.from({ length: 300 }, () => generator.next());
    const payloads = bodies.map((b) => b.payload as { level: number; state: string });
    expect(new Set(payloads.map((p) => p.state))).toEqual(new Set(['on', 'off', 'idle']));
    expect(payloads.every((p) => Number.isInteger(p.level) && p.level >= 1 && p.level <= 5)).toBe(true);
    expect(new Set(payloads.map((p) => p.level)).size).toBeGreaterThan(1);
    expect(bodies.every((b) => b.kind === 'reading')).toBe(true);
  });
});

describe('the layout around the list', () => {
  const importsOf = (file: string) =>
    [...readFileSync(join(repoRoot, file), 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2]!);
  const sourceFiles = (dir: string): string[] =>
    readdirSync(join(repoRoot, dir), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => relative(repoRoot, join(e.parentPath, e.name)));
  const resolved = (file: string) =>
    importsOf(file)
      .filter((s) => s.startsWith('.'))
      .map((s) => relative(repoRoot, join(repoRoot, dirname(file), s)));

  it('the family list imports definitions only, never a processor (so modules/, local/ and scripts/ can import it)', () => {
    const local = importsOf('handlers/families.ts').filter((s) => s.startsWith('.'));
    expect(local.length).toBeGreaterThan(0);
    for (const spec of local) expect(spec).toMatch(/^\.\/(?:[a-z0-9_]+\/family|runtime\/family)\.js$/);
  });

  it('the app entry builds nothing, and no shipped code or script imports it (local mode reads modules/app.ts)', () => {
    expect(importsOf('main.ts').filter((s) => s.startsWith('.'))).toEqual(['./modules/app.js']);
    const importers = ['handlers', 'modules', 'local', 'scripts']
      .flatMap(sourceFiles)
      .filter((f) => !f.endsWith('.test.ts') && importsOf(f).some((s) => /(^|\/)main\.js$/.test(s)));
    expect(importers).toEqual([]);
  });

  it('shipped code imports no test support, tool or script; scripts/ holds command-line entry points only', () => {
    const shipped = ['handlers', 'modules', 'local'].flatMap(sourceFiles).filter((f) => !f.endsWith('.test.ts'));
    const reaching = shipped.flatMap((f) => resolved(f).filter((t) => /^(tools|test|scripts)\//.test(t)).map((t) => `${f} → ${t}`));
    expect(reaching).toEqual([]);
    const everything = ['handlers', 'modules', 'local', 'tools', 'test', 'ops', 'cost', 'scripts'].flatMap(sourceFiles);
    expect(everything.flatMap((f) => resolved(f).filter((t) => t.startsWith('scripts/')).map((t) => `${f} → ${t}`))).toEqual([]);
    const entryPoints = readdirSync(join(repoRoot, 'scripts'), { withFileTypes: true });
    expect(entryPoints.filter((e) => !e.isFile()).map((e) => e.name)).toEqual([]);
    const exporting = entryPoints.filter((e) => /^export\s/m.test(readFileSync(join(repoRoot, 'scripts', e.name), 'utf8'))).map((e) => e.name);
    expect(exporting).toEqual([]);
  });

  it('nothing under handlers/runtime/ imports a shipped family, nor do the test-only families its tests use', () => {
    // A shipped family's rules may change at any time; the runtime's tests must not move with them.
    const shippedFolders = FAMILIES.map((f) => `handlers/${f.name}/`);
    const runtimeSide = [...sourceFiles('handlers/runtime'), 'test/support/families.ts'];
    const reaching = runtimeSide.flatMap((f) => resolved(f).filter((t) => shippedFolders.some((d) => t.startsWith(d))).map((t) => `${f} → ${t}`));
    expect(reaching).toEqual([]);
  });
});
