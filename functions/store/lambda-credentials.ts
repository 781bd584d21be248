import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * The credential chain of a Lambda bundle. Lambda (and SAM local, and LocalStack's Lambda)
 * always hands a function its role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
 * and AWS_SESSION_TOKEN, so the SDK's default chain — SSO, INI profiles, process, web identity,
 * instance metadata, with the STS and SSO clients they need — is dead weight there: about 100 KB
 * of every bundle and part of every cold start. infra/stateless-stack.ts aliases
 * `@aws-sdk/credential-provider-node` to this module when it bundles a function; local runs,
 * tests and the CLI keep the SDK's full chain.
 */
export const defaultProvider: typeof fromEnv = (init) => fromEnv(init);
