/**
 * npm run soak [-- --profile default|hot-keys|mixed] [--hot-fraction 0.2] [--events 20000] [--seed 7] [--malformed 0.05] [--crash 0.02] [--throttle 0.02]
 *               [--env staging] [--no-restart] [--keep-state] [--out bench/soak.json]
 *               [--restart-when-idle: restart only once phase 1 is processed]
 * Exits non-zero on any loss, double application, aggregate mismatch or alert discrepancy.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { formatChecks } from '../tools/soak/reconcile.js';
import { runSoak, type SoakProfile } from '../tools/soak/run.js';

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'default' },
    'hot-fraction': { type: 'string', default: '0.2' },
    events: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '7' },
    malformed: { type: 'string', default: '0.05' },
    crash: { type: 'string', default: '0.02' },
    throttle: { type: 'string', default: '0.02' },
    env: { type: 'string', default: 'staging' },
    'no-restart': { type: 'boolean', default: false },
    'restart-when-idle': { type: 'boolean', default: false },
    'keep-state': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

const PROFILES: Record<SoakProfile, (hotFraction: number) => string> = {
  default: () => '',
  'hot-keys': () => ' (hot-keys profile: tutoring session_started, one distinct student per event, one shared subject)',
  mixed: (f) => ` (mixed profile: every family, ${f * 100} % of events hot-key sessions of distinct students on one shared subject)`,
};
if (!Object.hasOwn(PROFILES, values.profile)) {
  console.error(`unknown --profile ${values.profile} (${Object.keys(PROFILES).join(', ')})`);
  process.exit(2);
}
const profile = values.profile as SoakProfile;
const out = values.out ?? (profile === 'default' ? 'bench/soak.json' : `bench/soak-${profile}.json`);
const started = Date.now();
const say = (line: string) => process.stderr.write(`[soak ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const options = {
  profile,
  hotFraction: Number(values['hot-fraction']),
  events: Number(values.events),
  seed: Number(values.seed),
  malformed: Number(values.malformed),
  handlerCrashRate: Number(values.crash),
  dynamoThrottleRate: Number(values.throttle),
  environment: values.env,
  restart: !values['no-restart'],
  restartWhenIdle: values['restart-when-idle'],
  keepState: values['keep-state'],
  progress: say,
};
say(`${profile} profile, ${options.events} events, seed ${options.seed}, malformed ${options.malformed}, crash ${options.handlerCrashRate}, DynamoDB throttle ${options.dynamoThrottleRate}, restart ${options.restart}`);
/** `a MiB before the restart, b MiB after`, or `a MiB` without a restart. */
function perLifetime(mebibytes: readonly number[]): string {
  return mebibytes.length > 1 ? `${mebibytes[0]} MiB before the restart, ${mebibytes.slice(1).join(', ')} MiB after` : `${mebibytes[0] ?? '?'} MiB`;
}

try {
  const result = await runSoak(options);
  const header =
    `Soak${PROFILES[profile](options.hotFraction)}: ${options.events.toLocaleString('en-US')} events, ${values.env} deployment, faults: ${options.malformed * 100} % malformed, ` +
    `handler crash ${options.handlerCrashRate * 100} %, DynamoDB throttle ${options.dynamoThrottleRate * 100} %, ${options.restart ? 'one restart' : 'no restart'}. ` +
    `Injected: ${result.faults.failedInvocations} failed invocations, ${result.faults.throttled} throttled of ${result.faults.dynamoRequests} DynamoDB requests. ` +
    `Send ${result.seconds.send.toFixed(0)} s, drain ${result.seconds.drain.toFixed(0)} s, total ${result.seconds.total.toFixed(0)} s. ` +
    `Peak resident memory: this process (local mode with dynalite, the pollers and the sandboxes as worker threads) ` +
    `${perLifetime(result.memory.peakRssMiBPerLifetime)}, kernel peak ${result.memory.maxRssMiB} MiB; ` +
    `kinesis-local ${result.memory.kinesisPeakRssMiBPerLifetime.length > 0 ? perLifetime(result.memory.kinesisPeakRssMiBPerLifetime) : 'not measured (no /proc)'}.`;
  console.log(`\n${header}\n\n${formatChecks(result)}\n`);
  if (result.examples.length > 0) console.log(`examples:\n${result.examples.map((e) => `  ${e}`).join('\n')}\n`);
  console.log(result.ok ? 'RECONCILED: nothing lost, nothing applied twice.' : 'FAILED: see the ✗ rows.');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), options: { ...options, progress: undefined }, header, ...result }, null, 2)}\n`);
  writeFileSync(out.replace(/\.json$/, '.md'), `${header}\n\n${formatChecks(result)}\n\n${result.ok ? 'RECONCILED: nothing lost, nothing applied twice.' : 'FAILED: see the ✗ rows.'}\n`);
  process.exit(result.ok ? 0 : 1);
} catch (error) {
  console.error(`soak failed to run: ${(error as Error).stack ?? error}`);
  process.exit(2);
}
