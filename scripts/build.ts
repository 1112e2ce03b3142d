/**
 * `npm run build [-- <family>…] [--no-minify]`: the processor bundles
 * (tools/build/bundles.ts), with a size report per bundle.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildHandlers, formatReport } from '../tools/build/bundles.js';

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const families = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const started = Date.now();
  const reports = await buildHandlers({
    families: families.length > 0 ? families : undefined,
    minify: !process.argv.includes('--no-minify'),
  });
  console.log(formatReport(reports));
  console.log(`built ${reports.length} bundle(s) in ${Date.now() - started} ms`);
}
