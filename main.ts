/**
 * cdktf's app entry: synthesizes modules/app.ts with the bundles already in
 * dist/handlers/. It builds nothing; `npm run synth` and `npx cdktf synth`
 * (cdktf.json runs scripts/build.ts first) build the bundles.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App } from 'cdktf';
import { buildApp } from './modules/app.js';

const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))) {
  const app = new App();
  buildApp(app);
  app.synth();
}
