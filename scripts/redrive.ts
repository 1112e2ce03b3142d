/**
 * `npm run redrive -- --env <env> --family <f|all> [--dry-run] [--since <time>]`
 *
 * Applies the failed records of a family's on-failure destination again
 * through the family's processor (its bundle, with its environment) and
 * removes what it settled (ops/redrive/redrive.ts). `--env local` works on
 * local mode (`npm start`, same PORT): its failure folders, its engines. Any
 * other environment works on AWS with the default credential chain: the
 * family's failure bucket (found by the prefix the stack gives it, or
 * `--bucket`), its stream and table, the processor's bundle run here.
 *
 * Exit code 0 when nothing is left failing, 1 when records are still failing
 * or expired, 2 when it could not run.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { LOCAL_CREDENTIALS, dynamoClient, kinesisClient } from '../local/aws.js';
import { REPO_ROOT, LOCAL_ACCOUNT_ID } from '../local/index.js';
import { Sandbox } from '../local/invoker.js';
import { localApiPort } from '../local/ports.js';
import type { FamilyDeployment } from '../modules/deployment.js';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../modules/environments.js';
import { failureBucketPrefix } from '../modules/failure-destination.js';
import { formatRedriveReport, redrive, type RedriveOptions, type RedriveReport } from '../ops/redrive/redrive.js';
import { parseSince } from '../ops/redrive/since.js';
import { findFailureBucket, localFailureStore, s3FailureStore, type FailureStore } from '../ops/redrive/store.js';

const USAGE = 'usage: npm run redrive -- --env <local|dev|staging|prod> --family <name|all> [--dry-run] [--since <ISO time | 30m | 6h | 7d>] [--bucket <name>] [--port 4010] [--state .local] [--verbose]';

/** What the processor's sandbox needs on top of the function's own environment. */
function awsPassThrough(): Record<string, string> {
  // The operator's credential chain (profile, SSO cache, keys): the processor runs here with them.
  const names = Object.keys(process.env).filter((n) => /^AWS_(PROFILE|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|CONFIG_FILE|SHARED_CREDENTIALS_FILE|SDK_LOAD_CONFIG|ROLE_ARN|WEB_IDENTITY_TOKEN_FILE|ROLE_SESSION_NAME|CA_BUNDLE)$/.test(n));
  return Object.fromEntries([...names.map((n) => [n, process.env[n]!]), ...(process.env.HOME ? [['HOME', process.env.HOME]] : [])]);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      env: { type: 'string' },
      family: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      since: { type: 'string' },
      bucket: { type: 'string' },
      port: { type: 'string' },
      state: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const env = values.env;
  if (!env || !values.family || (env !== 'local' && !ENVIRONMENT_NAMES.includes(env as EnvironmentName))) {
    console.error(USAGE);
    return 2;
  }
  const since = parseSince(values.since);
  const local = env === 'local';
  const { loadDeployment } = await import('../local/deployment.js');
  // Local mode runs the dev stack's deployment.
  const deployment = await loadDeployment(local ? 'dev' : (env as EnvironmentName));
  const families = deployment.families.filter((f) => values.family === 'all' || f.family.name === values.family);
  if (families.length === 0) {
    console.error(`no family ${values.family} in ${env} (families: ${deployment.families.map((f) => f.family.name).join(', ')})`);
    return 2;
  }
  if (values.bucket && families.length > 1) {
    console.error('--bucket names one family’s bucket: use it with one --family');
    return 2;
  }
  const region = deployment.region;
  const port = values.port === undefined ? localApiPort() : Number(values.port);
  const stateDir = resolve(values.state ?? resolve(REPO_ROOT, '.local'));
  // npm start puts the engines on the four ports after the API's (scripts/start.ts).
  const endpoints = { kinesis: `http://127.0.0.1:${port + 1}`, dynamodb: `http://127.0.0.1:${port + 3}`, alertSink: `http://127.0.0.1:${port + 4}` };
  const dynamo = local ? dynamoClient(endpoints.dynamodb, region) : new DynamoDBClient({ region });
  const kinesis = local ? kinesisClient(endpoints.kinesis, region) : new KinesisClient({ region, requestHandler: new NodeHttpHandler() });
  const s3 = local ? undefined : new S3Client({ region });
  const extraEnv: Record<string, string> = local
    ? {
        AWS_REGION: region,
        AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
        AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.alertSink,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      }
    : { AWS_REGION: region, ...awsPassThrough() };

  const reports: RedriveReport[] = [];
  try {
    for (const family of families) {
      const store: FailureStore = local
        ? localFailureStore(stateDir, family.family.name)
        : s3FailureStore(s3!, values.bucket ?? (await findFailureBucket(s3!, failureBucketPrefix(family.processor.functionName))), family.family.name);
      const sandbox = processorSandbox(family, region, local ? LOCAL_ACCOUNT_ID : 'unknown', extraEnv, values.verbose);
      try {
        reports.push(
          await redrive({
            family: family.family,
            route: await familyRoute(family.family.name),
            store,
            invoke: (event) => sandbox.invoke(event),
            dynamo,
            tableName: deployment.tableName,
            kinesis,
            ...(since ? { since } : {}),
            dryRun: values['dry-run'],
            batchSize: family.eventSource.batchSize,
          }),
        );
      } finally {
        await sandbox.close();
      }
    }
  } finally {
    dynamo.destroy();
    kinesis.destroy();
    s3?.destroy();
  }
  console.log(formatRedriveReport(reports));
  return reports.some((r) => r.counts.still_failing + r.counts.expired > 0) ? 1 : 0;
}

/** The family's route (which items a record touches), from its handler module; undefined for a family without one. */
async function familyRoute(name: string): Promise<RedriveOptions['route']> {
  try {
    const module = (await import(`../handlers/${name}/handler.js`)) as { route?: RedriveOptions['route'] };
    return module.route;
  } catch {
    return undefined;
  }
}

function processorSandbox(family: FamilyDeployment, region: string, accountId: string, extraEnv: Record<string, string>, verbose: boolean): Sandbox {
  return new Sandbox({
    deployment: family,
    repoRoot: REPO_ROOT,
    region,
    accountId,
    extraEnv,
    ...(verbose ? { log: (line: string) => console.error(`  [${family.family.name}] ${line}`) } : {}),
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(`redrive: ${(error as Error).message}`);
      process.exit(2);
    },
  );
}
