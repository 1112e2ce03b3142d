/**
 * An esbuild plugin that keeps out of the processor bundles the parts of the
 * AWS SDK a processor in Lambda never runs, each replaced so that reaching it
 * anyway fails loudly instead of silently doing something else.
 *
 * Found with esbuild's metafile (`npm run bench -- --only 5` lists the
 * largest inputs of each bundle); each entry says why it cannot run.
 */
import type { Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const lambdaCredentials = fileURLToPath(new URL('./lambda-credentials.ts', import.meta.url));

/** Imports resolved to a module that throws when it is evaluated (dynamic imports only: nothing static reaches them). */
export const LEFT_OUT: Readonly<Record<string, string>> = {
  // Imported lazily by HttpProtocol for operations with event streams; DynamoDB and EventBridge have none.
  '@smithy/core/event-streams': 'event streams (no DynamoDB or EventBridge operation has one)',
};

export function leanSdk(): Plugin {
  return {
    name: 'lean-sdk',
    setup(build) {
      // The default credential chain: replaced by the environment provider Lambda needs (lambda-credentials.ts).
      build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({ path: lambdaCredentials }));

      const leftOut = new RegExp(`^(${Object.keys(LEFT_OUT).map((k) => k.replace(/[/.]/g, '\\$&')).join('|')})$`);
      build.onResolve({ filter: leftOut }, (args) => ({ path: args.path, namespace: 'left-out' }));
      build.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} is not in this processor bundle: ${LEFT_OUT[args.path]} (tools/build/lean-sdk.ts)`)});`,
        loader: 'js',
      }));

      // A client's runtimeConfig imports its whole package.json for the version in the user agent.
      build.onLoad({ filter: /[\\/]@aws-sdk[\\/]client-[a-z0-9-]+[\\/]package\.json$/ }, (args) => {
        const { name, version } = JSON.parse(readFileSync(args.path, 'utf8')) as { name: string; version: string };
        return { contents: JSON.stringify({ name, version }), loader: 'json' };
      });
    },
  };
}
