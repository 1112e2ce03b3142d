/**
 * Part 5: bundle size and import time in a fresh Node process, ours (minified,
 * `zod/mini`) next to a naive bundle of the same handler (full `zod`, not minified).
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { median } from '../generators/stats.js';
import { kib, x, type PartResult, type Row } from './report.js';

const root = resolve(import.meta.dirname, '../..');

async function buildNaive(family: string, outfile: string) {
  await build({
    entryPoints: [join(root, 'handlers', family, 'handler.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: false,
    // The naive way to write the schemas: the full zod build, every locale and all.
    alias: { 'zod/mini': 'zod' },
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    mainFields: ['module', 'main'],
    logLevel: 'error',
  });
}

/** Milliseconds to import the bundle, measured inside a fresh process (process start not included). */
function importMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      ...process.env,
      // Handlers read these at import time in Lambda; dummy values keep module init honest without a network.
      TABLE_NAME: 'bench',
      EVENT_BUS_NAME: 'bench',
      FAMILY_NAME: 'bench',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'x',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    encoding: 'utf8',
  });
  return Number(out.trim().split('\n').pop());
}

export async function coldStart(options: { runs?: number } = {}): Promise<PartResult> {
  const runs = options.runs ?? 9;
  const { buildHandlers } = await import('../build.js');
  const outdir = join(root, 'bench/tmp/handlers');
  const ours = await buildHandlers({ outdir });
  const rows: Row[] = [];
  const data: unknown[] = [];
  for (const report of ours) {
    const oursFile = join(outdir, report.family, 'index.mjs');
    const naiveFile = join(root, 'bench/tmp/naive', report.family, 'index.mjs');
    await buildNaive(report.family, naiveFile);
    if (!existsSync(oursFile) || !existsSync(naiveFile)) throw new Error(`bundle missing for ${report.family}`);
    const size = (file: string) => {
      const code = readFileSync(file);
      return { bytes: code.length, gzip: gzipSync(code).length };
    };
    const o = size(oursFile);
    const n = size(naiveFile);
    // Alternate the two so that machine noise (other builds on the box) hits both alike.
    const oursMs: number[] = [];
    const naiveMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      oursMs.push(importMs(oursFile));
      naiveMs.push(importMs(naiveFile));
    }
    const om = median(oursMs);
    const nm = median(naiveMs);
    data.push({ family: report.family, ours: { ...o, importMs: oursMs }, naive: { ...n, importMs: naiveMs } });
    rows.push(
      {
        part: '5 cold start',
        measure: `${report.family}: bundle size (min / gzip)`,
        ours: `${kib(o.bytes)} / ${kib(o.gzip)}`,
        baseline: `${kib(n.bytes)} / ${kib(n.gzip)}`,
        ratio: `${x(n.bytes / o.bytes)} / ${x(n.gzip / o.gzip)} smaller`,
        notes: 'baseline: same handler, full zod, not minified',
      },
      {
        part: '5 cold start',
        measure: `${report.family}: import time, median of ${runs}`,
        ours: `${om.toFixed(1)} ms`,
        baseline: `${nm.toFixed(1)} ms`,
        ratio: `${x(nm / om)} faster`,
        notes: 'fresh node process each run',
      },
    );
  }
  return { rows, data };
}
