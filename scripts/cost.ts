/**
 * `npm run cost -- --env <env> --events-per-second <n> [--batch <n>] [--event-bytes <n>] [--detail]`:
 * the monthly cost of one environment by service, single vs batch route (cost/).
 * `npm run cost -- --measure` re-measures the processors' DynamoDB units into cost/measured.json
 * (needs `npm run build`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { measureDynamoUnits } from '../cost/measure-dynamodb.js';
import type { MeasuredUnits } from '../cost/model.js';
import { costReport, detail } from '../cost/report.js';
import { ENVIRONMENT_NAMES, ENVIRONMENTS, type EnvironmentName } from '../modules/environments.js';
import { FAMILIES } from '../tools/generators/families.js';

const MEASURED = resolve(import.meta.dirname, '../cost/measured.json');

const { values } = parseArgs({
  options: {
    env: { type: 'string' },
    'events-per-second': { type: 'string' },
    batch: { type: 'string', default: '100' },
    'event-bytes': { type: 'string' },
    detail: { type: 'boolean', default: false },
    measure: { type: 'boolean', default: false },
  },
});

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${text}"`);
  return n;
}

if (values.measure) {
  const measured = await measureDynamoUnits({ events: 400, batchSizes: [1, 10, 100, 200], shards: 1, seed: 7 });
  writeFileSync(MEASURED, `${JSON.stringify(measured, null, 2)}\n`);
  console.log(`wrote ${MEASURED}`);
  process.exit(0);
}

const env = values.env as EnvironmentName | undefined;
const rate = positive('events-per-second', values['events-per-second']);
if (!env || !ENVIRONMENT_NAMES.includes(env) || rate === undefined) {
  console.error(`usage: npm run cost -- --env <${ENVIRONMENT_NAMES.join('|')}> --events-per-second <n> [--batch <n>] [--event-bytes <n>] [--detail]`);
  process.exit(2);
}
const batch = positive('batch', values.batch)!;
if (!Number.isInteger(batch) || batch > 500) throw new Error('--batch must be a whole number from 1 to 500 (PutRecords takes at most 500 records)');
const measured = JSON.parse(readFileSync(MEASURED, 'utf8')) as MeasuredUnits;
const report = costReport(ENVIRONMENTS[env], FAMILIES, { eventsPerSecond: rate, batch, eventBytes: positive('event-bytes', values['event-bytes']) }, measured);
console.log(report.text);
if (values.detail) console.log(`\n${detail(report.single)}\n\n${detail(report.batch)}`);
