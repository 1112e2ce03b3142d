/**
 * `npm run new-family` end to end, in a throw-away copy of the repository (the
 * working tree is never touched): the command scaffolds and registers a
 * family, and then, with no other edit, the type-check passes, the new
 * family's handler test passes, the family-wide tests (bundle, templates,
 * generators) cover it, the bundle build and the synthesized stacks include
 * it, and local mode's deployment has it. The copy is removed afterwards,
 * even when a step fails.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES } from '../handlers/families.js';
import { ScaffoldError, scaffoldFamily } from '../tools/scaffold/new-family.js';

const run = promisify(execFile);
const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const NAME = 'scaffold_probe';
const SKIPPED = new Set(['node_modules', 'dist', 'cdktf.out', '.local', '.git', '.terraform', 'coverage', 'bench']);

let copy: string;
const bin = (path: string) => join(copy, 'node_modules', path);
const node = (args: string[]) =>
  run(process.execPath, args, { cwd: copy, env: { ...process.env, CHECKPOINT_DISABLE: '1' }, maxBuffer: 64 * 1024 * 1024 });
const tsx = (args: string[]) => node([bin('tsx/dist/cli.mjs'), ...args]);

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'event-flow-new-family-'));
  cpSync(root, copy, { recursive: true, filter: (src) => !SKIPPED.has(relative(root, src).split(/[\\/]/)[0]!) });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
});

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe('npm run new-family', () => {
  it('scaffolds and registers a family, and prints what to edit', async () => {
    const { stdout } = await tsx(['scripts/new-family.ts', NAME]);
    for (const file of ['family.ts', 'handler.ts', 'handler.test.ts']) expect(existsSync(join(copy, 'handlers', NAME, file))).toBe(true);
    expect(readFileSync(join(copy, 'handlers', 'families.ts'), 'utf8')).toContain(`import { scaffoldProbe } from './${NAME}/family.js';`);
    expect(stdout).toContain(`registered in handlers/families.ts`);
    expect(stdout).toContain(`handlers/${NAME}/family.ts`);
    expect(stdout).toContain(`/events/${NAME}`);
  }, 120_000);

  it('refuses the same name twice and an invalid name, writing nothing', () => {
    const before = readFileSync(join(copy, 'handlers', 'families.ts'), 'utf8');
    expect(() => scaffoldFamily(copy, NAME)).toThrow(ScaffoldError);
    expect(() => scaffoldFamily(copy, 'Not-Snake')).toThrow(/snake_case/);
    expect(existsSync(join(copy, 'handlers', 'Not-Snake'))).toBe(false);
    expect(readFileSync(join(copy, 'handlers', 'families.ts'), 'utf8')).toBe(before);
  });

  it('type-checks with no other edit', async () => {
    await expect(node([bin('typescript/bin/tsc'), '--noEmit', '-p', copy])).resolves.toBeDefined();
  }, 600_000);

  it('passes its own handler test, and the family-wide tests cover it; the bundle build includes it', async () => {
    const report = join(copy, 'vitest-report.json');
    // Every test that synthesizes the stacks or prices them counts per family: with one family more, none may break.
    // (terraform.test.ts is left out: the offline plan of the three stacks takes half a minute and proves nothing more here.)
    const files = [`handlers/${NAME}`, 'handlers/bundle.test.ts', 'test/templates.test.ts', 'test/send.test.ts', 'modules/', 'cost/'];
    const args = ['run', ...files, '--exclude', 'modules/terraform.test.ts', '--reporter=json', `--outputFile=${report}`];
    await node([bin('vitest/vitest.mjs'), ...args]).catch((error: { stdout?: string }) => {
      throw new Error(`vitest failed in the copy:\n${readFileSync(report, 'utf8').slice(0, 4000) || error.stdout}`);
    });
    const results = JSON.parse(readFileSync(report, 'utf8')) as {
      numFailedTests: number;
      testResults: { name: string; assertionResults: { fullName: string; status: string }[] }[];
    };
    expect(results.numFailedTests).toBe(0);
    const covering = (file: string) =>
      results.testResults
        .filter((r) => r.name.endsWith(file))
        .flatMap((r) => r.assertionResults)
        .filter((a) => a.status === 'passed' && a.fullName.includes(NAME));
    expect(covering(`handlers/${NAME}/handler.test.ts`).length).toBeGreaterThan(0);
    expect(covering('handlers/bundle.test.ts').length).toBeGreaterThan(0);
    expect(covering('test/templates.test.ts').length).toBeGreaterThan(1);
    expect(covering('test/send.test.ts').length).toBeGreaterThan(0);
    expect(results.testResults.filter((r) => /modules\/[a-z-]+\.test\.ts$/.test(r.name)).length).toBeGreaterThan(5);
    // The suite's global setup ran the bundle build.
    expect(existsSync(join(copy, 'dist', 'handlers', NAME, 'index.mjs'))).toBe(true);
  }, 900_000);

  it('is in every synthesized stack (stream, processor, route) and in local mode', async () => {
    const { stdout } = await tsx(['scripts/synth.ts']);
    expect(stdout).toContain(`built ${FAMILIES.length + 1} handler bundles`);
    for (const env of ['dev', 'staging', 'prod']) {
      const tf = JSON.parse(readFileSync(join(copy, 'cdktf.out', 'stacks', `event-flow-${env}`, 'cdk.tf.json'), 'utf8')) as {
        resource: Record<string, Record<string, Record<string, unknown>>>;
      };
      const names = (type: string) => Object.values(tf.resource[type] ?? {}).map((r) => r.name ?? r.function_name ?? r.path_part);
      expect(names('aws_kinesis_stream')).toContain(`event-flow-${env}-${NAME}`);
      expect(names('aws_lambda_function')).toContain(`event-flow-${env}-${NAME}`);
      expect(names('aws_api_gateway_resource')).toContain(NAME);
    }
    const { stdout: local } = await tsx([
      '--eval',
      "import('./local/deployment.ts').then(async (m) => console.log(JSON.stringify((await m.loadDeployment()).families.map((f) => f.family.name))))",
    ]);
    expect(JSON.parse(local.trim().split('\n').at(-1)!)).toContain(NAME);
  }, 600_000);
});
