/**
 * The cdktf app entry: synthesizes modules/app.ts with the bundles already in
 * dist/handlers/. It builds nothing; `npm run synth` and `npx cdktf synth`
 * (cdktf.json runs scripts/synth.ts) build the bundles first.
 */
import { App } from 'cdktf';
import { buildApp } from './modules/app.js';

const app = new App();
buildApp(app);
app.synth();
