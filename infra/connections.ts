import type { StoreOptions } from '../storage';
import { readCredentials, readStackInfo } from './dev-stack';

/**
 * Where the farm's Temporal and S3 are. Explicit environment wins (production: TEMPORAL_ADDRESS,
 * the AWS credential chain, SYNFARM_S3_ENDPOINT); without it, a running `synfarm dev up` stack
 * is used, with the keys it generated; the keys themselves are never printed.
 */
export interface Connections {
  temporal: { address: string; namespace: string; uiUrl?: string };
  s3: StoreOptions;
  /** Where the settings came from, for `--help`-style explanations and logs. */
  source: 'environment' | 'dev-stack';
}

const env = (...names: string[]) => names.map((n) => process.env[n]).find((v) => v !== undefined && v !== '');

export async function resolveConnections(stateDir?: string): Promise<Connections> {
  const stack = await readStackInfo(stateDir);
  const temporalAddress = env('SYNFARM_TEMPORAL_ADDRESS', 'TEMPORAL_ADDRESS');
  const namespace =
    env('SYNFARM_TEMPORAL_NAMESPACE', 'TEMPORAL_NAMESPACE') ?? stack?.temporal.namespace ?? 'default';
  const s3FromEnv =
    env(
      'SYNFARM_S3_ENDPOINT',
      'AWS_ENDPOINT_URL_S3',
      'AWS_ENDPOINT_URL',
      'AWS_ACCESS_KEY_ID',
      'AWS_PROFILE',
    ) !== undefined;
  if (temporalAddress || s3FromEnv || !stack) {
    return {
      temporal: {
        address: temporalAddress ?? stack?.temporal.address ?? '127.0.0.1:17233',
        namespace,
        uiUrl: env('SYNFARM_TEMPORAL_UI_URL') ?? (temporalAddress ? undefined : stack?.temporal.uiUrl),
      },
      s3:
        s3FromEnv || !stack
          ? {}
          : {
              endpoint: stack.s3.endpoint,
              region: stack.s3.region,
              credentials: await readCredentials(stack),
            },
      source: 'environment',
    };
  }
  return {
    temporal: { address: stack.temporal.address, namespace, uiUrl: stack.temporal.uiUrl },
    s3: { endpoint: stack.s3.endpoint, region: stack.s3.region, credentials: await readCredentials(stack) },
    source: 'dev-stack',
  };
}
