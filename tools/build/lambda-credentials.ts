/**
 * The credential provider the processor bundles carry instead of the SDK's
 * default chain (`@aws-sdk/credential-provider-node`, swapped in by
 * tools/build/lean-sdk.ts).
 *
 * In Lambda the execution role's credentials arrive as AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN ("Defined runtime environment
 * variables", AWS Lambda Developer Guide), and the default chain resolves them
 * with its first link, `fromEnv`. Its other links (SSO, INI files, credential
 * processes, web-identity token files, container and instance metadata) are
 * about 100 KiB of the bundle with their STS/SSO clients and never run there.
 * Local mode and the tests set the same variables. Sources and the CLI keep
 * the full chain: only the bundles are built with this.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { CredentialsProviderError } from '@smithy/core/config';

type ProviderInit = NonNullable<Parameters<typeof fromEnv>[0]>;

/** Same name and shape as `@aws-sdk/credential-provider-node`'s export, which the SDK clients' runtimeConfig imports. */
export const defaultProvider =
  (init: ProviderInit = {}): ReturnType<typeof fromEnv> =>
  async () => {
    try {
      return await fromEnv(init)();
    } catch {
      throw new CredentialsProviderError(
        'No credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: this processor bundle only reads credentials from the environment, ' +
          'as Lambda provides them (the default credential chain is left out of it, tools/build/lean-sdk.ts)',
        { tryNextLink: false, ...(init.logger ? { logger: init.logger } : {}) },
      );
    }
  };
