import type { StoreOptions } from '../storage';
import { loadWorkerConfig, resolveTargets } from '../workers/config';
import { readStackInfo } from './dev-stack';
import type { TemporalTarget } from './temporal-connection';

/**
 * Where the farm's Temporal and S3 are, for the client commands (launch, status, urls, ...).
 * The same schema and sources as a worker (workers/config.ts: SYNFARM_* environment, then the
 * SYNFARM_CONFIG file, then a running `synfarm dev up` stack), so whatever reaches Temporal
 * (Cloud) from a worker reaches it from here: address, namespace, TLS files, API key.
 * Secrets are never printed.
 */
export interface Connections {
  temporal: TemporalTarget & { uiUrl?: string };
  s3: StoreOptions;
  /** From the config (`queuePrefix`, SYNFARM_QUEUE_PREFIX): must match the workers'. */
  queuePrefix: string;
  /** Where the Temporal settings came from, for explanations and logs. */
  source: 'environment' | 'dev-stack';
}

export async function resolveConnections(
  env: Record<string, string | undefined> = process.env,
): Promise<Connections> {
  const { config } = await loadWorkerConfig({ env });
  const targets = await resolveTargets(config, env);
  const stackUi = targets.devStack.temporal ? (await readStackInfo())?.temporal.uiUrl : undefined;
  const uiUrl = env.SYNFARM_TEMPORAL_UI_URL || stackUi;
  return {
    temporal: { ...targets.temporal, ...(uiUrl ? { uiUrl } : {}) },
    s3: targets.s3,
    queuePrefix: config.queuePrefix,
    source: targets.devStack.temporal ? 'dev-stack' : 'environment',
  };
}
