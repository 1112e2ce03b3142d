/**
 * Run by part 4 under `node --cpu-prof`: one family's processor, from source
 * (so the profile names packages and files, not minified bundle lines),
 * against the in-process memory store, warmed and then invoked on batches of
 * 1,000 records of one shard. Prints nothing; the parent reads the profile.
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir <dir> tools/bench/processor-profile.ts <family> [invocations]
 */
import { startAlertSink } from '../../local/alert-sink.js';
import { createGenerator, familyByName } from '../generators/families.js';
import { lambdaContext, toRecords } from './kinesis-events.js';
import { startMemoryStore } from './memory-store.js';

const familyName = process.argv[2] ?? 'tutoring';
const invocations = Number(process.argv[3] ?? 4);
const store = await startMemoryStore();
const sink = await startAlertSink();
Object.assign(process.env, {
  TABLE_NAME: 'profile',
  EVENT_BUS_NAME: 'profile',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'profile',
  AWS_SECRET_ACCESS_KEY: 'profile',
  AWS_ENDPOINT_URL_DYNAMODB: store.endpoint,
  AWS_ENDPOINT_URL_EVENTBRIDGE: sink.endpoint,
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
});
const { handler } = (await import(`../../handlers/${familyName}/handler.ts`)) as { handler: (e: unknown, c: unknown) => Promise<unknown> };
const generator = createGenerator(familyName, { seed: 44, epochMs: Date.now() - 6 * 3600_000, idPrefix: 'profile' });
const shard = toRecords(familyByName(familyName), Array.from({ length: 100 + 1_000 * invocations }, () => generator.next()), 1).shards[0]!;
await handler({ Records: shard.slice(0, 100) }, lambdaContext('profile'));
for (let i = 0; i < invocations; i++) await handler({ Records: shard.slice(100 + i * 1_000, 100 + (i + 1) * 1_000) }, lambdaContext('profile'));
await sink.stop();
await store.stop();
process.exit(0);
