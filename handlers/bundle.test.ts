/**
 * The esbuild bundles (built once by test/global-setup.ts) are what deploys
 * and what local mode runs: they must work on their own, with only the
 * processor environment variables set.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { FAMILIES } from './families.js';
import type { FamilyDefinition } from './runtime/family.js';
import { useHarness } from '../test/support/harness.js';
import { kinesisEvent, records } from '../test/support/kinesis.js';
import { tutoring } from './tutoring/family.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bundlePath = (family: string) => join(root, 'dist', 'handlers', family, 'index.mjs');
type Handler = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;

const h = useHarness();

/** The family's example, a malformed record, and the example again as a distinct request. */
const batchFor = (family: FamilyDefinition) =>
  kinesisEvent(records(family, [family.example, { data: Buffer.from('not json').toString('base64'), partitionKey: 'junk' }, family.example]));

describe.each(FAMILIES)('bundle of $name, imported with only the environment set', (family) => {
  it('processes its example, reports the malformed record on the bus, and a redelivery changes nothing', async () => {
    const { handler } = (await import(pathToFileURL(bundlePath(family.name)).href)) as { handler: Handler };
    const event = batchFor(family);
    expect((await handler(event)).batchItemFailures).toEqual([]);
    const items = await h().scan();
    // The IAM policy only lets a family's function touch keys with its own prefix.
    expect(items.every((i) => String(i.pk).startsWith(`${family.name}#`))).toBe(true);
    expect(items.filter((i) => !/#malformed$|#cursor#/.test(String(i.pk))).length).toBeGreaterThan(0);
    expect(h().sink.entries.map((e) => [e.Source, e.DetailType])).toEqual([[`event-flow.${family.name}`, 'MalformedEvent']]);
    await handler(event);
    expect(await h().scan()).toEqual(items);
    expect(h().sink.entries).toHaveLength(1);
  });
});

describe('a bundle copied next to nothing', () => {
  let dir: string | undefined;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs under plain node without node_modules', async () => {
    dir = mkdtempSync(join(tmpdir(), 'event-flow-bundle-'));
    copyFileSync(bundlePath('tutoring'), join(dir, 'index.mjs'));
    // Nothing to resolve from: no node_modules in the folder or above it.
    for (let d = dir; ; d = dirname(d)) {
      expect(existsSync(join(d, 'node_modules'))).toBe(false);
      if (dirname(d) === d) break;
    }
    const event = kinesisEvent(
      records(tutoring, [
        { event_type: 'customer_health_update', timestamp: '2026-11-20T10:00:00Z', payload: { student_id: 'stu-bundle', health_score: 42 } },
      ]),
    );
    writeFileSync(join(dir, 'event.json'), JSON.stringify(event));
    writeFileSync(
      join(dir, 'run.mjs'),
      "import { readFileSync } from 'node:fs';\nconst { handler } = await import('./index.mjs');\nprocess.stdout.write('RESULT ' + JSON.stringify(await handler(JSON.parse(readFileSync('event.json', 'utf8')))) + '\\n');\n",
    );
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: dir, POWERTOOLS_LOG_LEVEL: 'SILENT' };
    for (const name of ['TABLE_NAME', 'EVENT_BUS_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_EVENTBRIDGE']) {
      env[name] = process.env[name]!;
    }
    // Asynchronous on purpose: dynalite and the sink the child talks to live in this process.
    const child = await new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
      const p = spawn(process.execPath, ['run.mjs'], { cwd: dir, env });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (c) => (stdout += c));
      p.stderr.on('data', (c) => (stderr += c));
      p.on('close', (status) => done({ status, stdout, stderr }));
    });
    expect(child.stderr.split('\n').filter((l) => /Error|Cannot find/.test(l))).toEqual([]);
    expect(child.status).toBe(0);
    const result = JSON.parse(child.stdout.split('\n').find((l) => l.startsWith('RESULT '))!.slice(7));
    expect(result).toEqual({ batchItemFailures: [] });
    expect((await h().scan()).find((i) => i.pk === 'tutoring#student#stu-bundle')).toMatchObject({ health_score: 42, health_level: 'critical' });
    expect(h().sink.entries.map((e) => [e.DetailType, e.detail.severity])).toEqual([['low_health_score', 'critical']]);
  });
});
