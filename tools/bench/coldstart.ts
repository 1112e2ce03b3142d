/**
 * Part 5: bundle size and import time in a fresh Node process, ours
 * (`npm run build`: minified, `zod/mini`, tools/build/lean-sdk.ts) next to
 * the bundle a competent user would build from the same handler:
 * - baseline: esbuild `--bundle --minify` (same platform, format and target as
 *   ours), the full `zod`, the SDK's default clients with their whole
 *   credential chain;
 * - the same, but leaving the SDK to the Lambda runtime (`@aws-sdk/*`
 *   external, resolved from node_modules at import time).
 * The three are imported in turn, run after run, so machine noise hits them
 * alike; wall time and the process's CPU time (user + system, less disturbed
 * by other work on the machine) are both reported. What each bundle is made
 * of comes from esbuild's metafile.
 */
import { build, type Metafile } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { median } from '../generators/stats.js';
import { kib, x, type PartResult, type Row } from './report.js';

const root = resolve(import.meta.dirname, '../..');
const banner = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

type Variant = 'ours' | 'baseline' | 'sdkExternal';

/** The competent user's bundle: minified, full zod, default SDK clients; optionally the SDK left to the runtime. */
async function buildBaseline(family: string, outfile: string, sdkExternal: boolean): Promise<Metafile> {
  const result = await build({
    entryPoints: [join(root, 'handlers', family, 'handler.ts')],
    outfile,
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    // The usual way to write the schemas: the full zod build.
    alias: { 'zod/mini': 'zod' },
    ...(sdkExternal ? { external: ['@aws-sdk/*'] } : {}),
    banner: { js: banner },
    mainFields: ['module', 'main'],
    metafile: true,
    logLevel: 'error',
  });
  return result.metafile;
}

/** Wall and CPU milliseconds to import the bundle, measured inside a fresh process (process start not included). */
function importCost(file: string): { wallMs: number; cpuMs: number } {
  const script =
    `const c = process.cpuUsage(); const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); ` +
    'const u = process.cpuUsage(c); console.log(JSON.stringify({ wallMs: performance.now() - t, cpuMs: (u.user + u.system) / 1000 }));';
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
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!) as { wallMs: number; cpuMs: number };
}

/** Bytes in the bundle per package (or per source folder), largest first. */
export function contributors(metafile: Metafile): [string, number][] {
  const out = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined) ?? Object.values(metafile.outputs)[0]!;
  const byPackage = new Map<string, number>();
  for (const [path, input] of Object.entries(out.inputs)) {
    const pkg = path.match(/node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/)?.[1] ?? path.split(/[\\/]/).slice(0, 2).join('/');
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + input.bytesInOutput);
  }
  return [...byPackage].sort((a, b) => b[1] - a[1]);
}

const top = (metafile: Metafile, n: number) =>
  contributors(metafile)
    .slice(0, n)
    .map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(1)}`)
    .join(', ');

export async function coldStart(options: { runs?: number } = {}): Promise<PartResult> {
  const runs = options.runs ?? 11;
  const { buildHandlers } = await import('../build/bundles.js');
  // Inside the repository, so that the SDK-external variant resolves @aws-sdk/* from its node_modules.
  const tmp = join(root, 'bench/tmp');
  const ours = await buildHandlers({ outdir: join(tmp, 'handlers'), metafile: true });
  const rows: Row[] = [];
  const data: unknown[] = [];
  const loadBefore = loadavg()[0]!;
  for (const report of ours) {
    const files: Record<Variant, string> = {
      ours: join(tmp, 'handlers', report.family, 'index.mjs'),
      baseline: join(tmp, 'baseline', report.family, 'index.mjs'),
      sdkExternal: join(tmp, 'sdk-external', report.family, 'index.mjs'),
    };
    const metafiles: Record<Variant, Metafile> = {
      ours: report.metafile!,
      baseline: await buildBaseline(report.family, files.baseline, false),
      sdkExternal: await buildBaseline(report.family, files.sdkExternal, true),
    };
    const size = (file: string) => {
      const code = readFileSync(file);
      return { bytes: code.length, gzip: gzipSync(code).length };
    };
    const sizes = { ours: size(files.ours), baseline: size(files.baseline), sdkExternal: size(files.sdkExternal) };
    const costs: Record<Variant, { wallMs: number; cpuMs: number }[]> = { ours: [], baseline: [], sdkExternal: [] };
    // One warm-up round (page cache), then alternate.
    for (const v of ['ours', 'baseline', 'sdkExternal'] as const) importCost(files[v]);
    for (let i = 0; i < runs; i++) for (const v of ['ours', 'baseline', 'sdkExternal'] as const) costs[v].push(importCost(files[v]));
    const wall = (v: Variant) => median(costs[v].map((c) => c.wallMs));
    const cpu = (v: Variant) => median(costs[v].map((c) => c.cpuMs));
    data.push({
      family: report.family,
      sizes,
      importMs: costs,
      contributors: { ours: contributors(metafiles.ours).slice(0, 15), baseline: contributors(metafiles.baseline).slice(0, 15) },
    });
    rows.push(
      {
        part: '5 cold start',
        measure: `${report.family}: bundle size, minified / gzip`,
        ours: `${kib(sizes.ours.bytes)} / ${kib(sizes.ours.gzip)}`,
        baseline: `${kib(sizes.baseline.bytes)} / ${kib(sizes.baseline.gzip)}`,
        ratio: `${x(sizes.ours.bytes / sizes.baseline.bytes)} / ${x(sizes.ours.gzip / sizes.baseline.gzip)} of it`,
        notes: `baseline: esbuild --bundle --minify, full zod, default SDK clients; SDK left to the runtime: ${kib(sizes.sdkExternal.bytes)} + the SDK in node_modules`,
      },
      {
        part: '5 cold start',
        measure: `${report.family}: import time in a fresh node, wall / CPU, median of ${runs}`,
        ours: `${wall('ours').toFixed(1)} / ${cpu('ours').toFixed(1)} ms`,
        baseline: `${wall('baseline').toFixed(1)} / ${cpu('baseline').toFixed(1)} ms`,
        ratio: `${x(wall('ours') / wall('baseline'))} / ${x(cpu('ours') / cpu('baseline'))} of it`,
        notes: `SDK left to the runtime: ${wall('sdkExternal').toFixed(1)} / ${cpu('sdkExternal').toFixed(1)} ms (${x(wall('ours') / wall('sdkExternal'))} / ${x(cpu('ours') / cpu('sdkExternal'))} of it); the three alternated`,
      },
    );
  }
  const tutoring = ours.find((r) => r.family === 'tutoring') ?? ours[0]!;
  const tutoringBaseline = (data.find((d) => (d as { family: string }).family === tutoring.family) as { contributors: { baseline: [string, number][] } }).contributors.baseline;
  rows.push({
    part: '5 cold start',
    measure: `${tutoring.family}: largest parts of the bundle, KiB (esbuild metafile)`,
    ours: top(tutoring.metafile!, 6),
    baseline: tutoringBaseline
      .slice(0, 6)
      .map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(1)}`)
      .join(', '),
    ratio: '—',
    notes: `load average ${loadBefore.toFixed(2)} → ${loadavg()[0]!.toFixed(2)} during this part`,
  });
  return { rows, data };
}
