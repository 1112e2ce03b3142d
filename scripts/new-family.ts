/**
 * `npm run new-family -- <name>`: scaffolds a family (tools/scaffold/new-family.ts)
 * and prints what to edit next.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScaffoldError, scaffoldFamily } from '../tools/scaffold/new-family.js';

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const name = process.argv[2];
  if (!name || name.startsWith('-')) {
    console.error('usage: npm run new-family -- <name>   (snake_case, e.g. shipments)');
    process.exit(2);
  }
  try {
    const result = scaffoldFamily(resolve(fileURLToPath(new URL('..', import.meta.url))), name);
    for (const file of result.created) console.log(`${file.endsWith('families.ts') ? 'registered in' : 'created'} ${file}`);
    console.log(`\n${result.next}`);
  } catch (error) {
    if (!(error instanceof ScaffoldError)) throw error;
    console.error(`new-family: ${error.message}`);
    process.exit(1);
  }
}
