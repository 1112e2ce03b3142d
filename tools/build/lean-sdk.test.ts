/**
 * What tools/build/lean-sdk.ts leaves out of the processor bundles, and what
 * a bundle does when it would need it: the default credential chain is gone
 * (credentials come from the environment, as Lambda provides them), and event
 * streams fail loudly if anything ever reached them.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Metafile } from 'esbuild';
import { buildHandlers } from './bundles.js';
import { defaultProvider } from './lambda-credentials.js';

let dir: string;
let bundle: string;
let metafile: Metafile;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'event-flow-lean-'));
  const [report] = await buildHandlers({ outdir: join(dir, 'handlers'), families: ['tutoring'], metafile: true });
  bundle = join(dir, 'handlers', 'tutoring', 'index.mjs');
  metafile = report!.metafile!;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the processor bundle', () => {
  it('carries none of the default credential chain beyond the environment provider, and no event-stream code', () => {
    const inputs = Object.keys(metafile.inputs);
    const leftOut = /@aws-sdk[\\/](credential-provider-(node|ini|sso|process|web-identity|login|http)|nested-clients|token-providers)[\\/]|@smithy[\\/](credential-provider-imds|core[\\/]dist-es[\\/]submodules[\\/]event-streams)[\\/]/;
    expect(inputs.filter((p) => leftOut.test(p))).toEqual([]);
    expect(inputs.some((p) => /@aws-sdk[\\/]credential-provider-env[\\/]/.test(p))).toBe(true);
  });

  it('with credentials only in ~/.aws/credentials, fails before any request and says why', () => {
    // The SDK's default chain would take this profile; Lambda never has one, so the bundle does not look.
    const home = join(dir, 'home');
    mkdirSync(join(home, '.aws'), { recursive: true });
    writeFileSync(join(home, '.aws', 'credentials'), '[default]\naws_access_key_id = from-file\naws_secret_access_key = from-file\n');
    const event = { Records: [{ eventSource: 'aws:kinesis', eventID: 'e', kinesis: { sequenceNumber: '1', partitionKey: 'k', data: Buffer.from('{}').toString('base64'), approximateArrivalTimestamp: 1, kinesisSchemaVersion: '1.0' } }] };
    const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)}); try { await handler(${JSON.stringify(event)}); console.log('RESOLVED'); } catch (e) { console.log('REJECTED ' + e.message); }`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        TABLE_NAME: 'lean',
        EVENT_BUS_NAME: 'lean',
        AWS_REGION: 'eu-west-1',
        // Nothing listens here: a request that got as far as the network would fail differently.
        AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
        AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://127.0.0.1:9',
        AWS_MAX_ATTEMPTS: '1',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.stdout).toMatch(/only reads credentials from the environment/);
  });
});

describe('the environment credential provider', () => {
  const saved = { ...process.env };
  afterAll(() => {
    process.env = saved;
  });

  it('returns the variables Lambda sets, session token included', async () => {
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token' });
    await expect(defaultProvider()()).resolves.toMatchObject({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });
  });

  it('rejects with a CredentialsProviderError that stops the chain when they are absent', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    await expect(defaultProvider()()).rejects.toMatchObject({ name: 'CredentialsProviderError', tryNextLink: false });
  });
});
