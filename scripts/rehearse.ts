/**
 * `npm run rehearse [-- dev prod]`: applies the synthesized stacks to moto,
 * plans them (no changes expected), destroys them, and prints a table
 * (tools/rehearsal/rehearse.ts). Default: dev and prod, into one account.
 */
import { buildHandlers } from '../tools/build/bundles.js';
import { formatRehearsal, rehearsalUnavailable, rehearse } from '../tools/rehearsal/rehearse.js';

const unavailable = rehearsalUnavailable();
if (unavailable) {
  console.log(`rehearsal skipped: ${unavailable}`);
  process.exit(0);
}
const environments = process.argv.slice(2).filter((a) => !a.startsWith('-'));
await buildHandlers();
// After the build: the app reads the environment settings (e.g. EVENT_FLOW_ACCOUNT_SETTINGS_OWNER) on import.
const { buildApp } = await import('../modules/app.js');
const result = await rehearse({
  stacks: (environments.length > 0 ? environments : ['dev', 'prod']).map((env) => `event-flow-${env}`),
  synth: (app) => buildApp(app),
  log: (line) => console.log(line),
});
console.log(formatRehearsal(result));
process.exitCode = result.rows.every((r) => r.planClean && r.resourcesDestroyed === r.resourcesCreated) ? 0 : 1;
