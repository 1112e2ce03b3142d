/**
 * Bundles every processor with esbuild into `dist/handlers/<family>/index.mjs`.
 *
 * The AWS SDK is bundled rather than left to the Lambda runtime: a bundled,
 * minified SDK imports faster (ARCHITECTURE.md, 9 toolchain facts), and it
 * pins the SDK version the tests ran against. The same artifact runs in Lambda
 * and in local mode. The families are those of handlers/families.ts.
 * What Lambda never runs of the SDK (the default credential chain beyond the
 * environment, event streams) is left out by tools/build/lean-sdk.ts.
 */
import { build, type Metafile } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { FAMILIES, familyByName, processorEntry } from '../../handlers/families.js';
import { leanSdk } from './lean-sdk.js';

export interface BundleReport {
  family: string;
  file: string;
  bytes: number;
  gzipBytes: number;
  /** esbuild's metafile, when asked for (what each input costs in the bundle). */
  metafile?: Metafile;
}

export interface BuildOptions {
  outdir?: string;
  families?: string[];
  minify?: boolean;
  /** Return esbuild's metafile with each report. @default false */
  metafile?: boolean;
}

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));

// Some CJS dependencies of the SDK call require() for Node built-ins; an ESM
// bundle has no require, so one is provided.
const banner = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

export async function buildHandlers(options: BuildOptions = {}): Promise<BundleReport[]> {
  const outdir = resolve(root, options.outdir ?? 'dist/handlers');
  const families = (options.families ?? FAMILIES.map((f) => f.name)).map(familyByName);
  const minify = options.minify ?? true;

  return Promise.all(
    families.map(async (family) => {
      const file = join(outdir, family.name, 'index.mjs');
      const result = await build({
        entryPoints: [processorEntry(family)],
        outfile: file,
        bundle: true,
        platform: 'node',
        target: 'node22',
        format: 'esm',
        minify,
        sourcemap: true,
        legalComments: 'none',
        banner: { js: banner },
        // The SDK ships ESM builds; prefer them so tree shaking works.
        mainFields: ['module', 'main'],
        plugins: [leanSdk()],
        metafile: options.metafile ?? false,
        logLevel: 'warning',
      });
      const code = readFileSync(file);
      return {
        family: family.name,
        file: relative(root, file),
        bytes: code.length,
        gzipBytes: gzipSync(code).length,
        ...(result.metafile ? { metafile: result.metafile } : {}),
      };
    }),
  );
}

export function formatReport(reports: readonly BundleReport[]): string {
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const rows = reports.map((r) => [r.family, r.file, kib(r.bytes), kib(r.gzipBytes)]);
  const header = ['family', 'bundle', 'raw', 'gzip'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
