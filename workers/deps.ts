import { setTimeout as sleep } from 'node:timers/promises';
import type { ActivityDeps } from '../activities';
import { activeTfjsBackend } from '../models/tfjs-backend';
import { isStagingKey } from '../run/layout';
import { openStore, type StoreOptions } from '../storage';
import type { ObjectStore } from '../storage/object-store';
import { withPartCache } from '../storage/part-cache';
import { DEFAULT_PART_CACHE_MIB } from './config';
import { instrumentModels, instrumentStore } from './instrument';
import type { WorkerMetrics } from './metrics';
import { createModelProvider } from './models';

export interface WorkerDepsOptions {
  s3: StoreOptions;
  /**
   * Test hook: pause this long before every staged part and committed part, so crash tests can
   * kill a worker inside a stage. Set from SYNFARM_TEST_PART_DELAY_MS by tests only.
   */
  testPartDelayMs?: number;
  /** When set, stores and models are wrapped to record synfarm's metrics. */
  metrics?: WorkerMetrics;
  /** Memory for staged parts this process wrote, read back by its later stages; 0 turns it off. */
  partCacheBytes?: number;
}

const PART_CACHE_BYTES = DEFAULT_PART_CACHE_MIB * 1024 * 1024;

/** The real dependencies a worker process gives its activities: one store per URL, one model set. */
export function createWorkerDeps(options: WorkerDepsOptions): ActivityDeps {
  const stores = new Map<string, ObjectStore>();
  const delay = options.testPartDelayMs ?? 0;
  const open = (url: string): ObjectStore => {
    let store = stores.get(url);
    if (!store) {
      store = openStore(url, options.s3);
      const cacheBytes = options.partCacheBytes ?? PART_CACHE_BYTES;
      if (cacheBytes > 0) store = withPartCache(store, { maxBytes: cacheBytes, cacheable: isStagingKey });
      if (options.metrics) store = instrumentStore(store, options.metrics);
      stores.set(url, store);
    }
    return store;
  };
  const models = createModelProvider({ openStore: open });
  const m = options.metrics;
  return {
    openStore: open,
    models: m ? instrumentModels(models, m, () => activeTfjsBackend()?.name ?? 'none') : models,
    testHooks: delay > 0 ? { beforePart: () => sleep(delay) } : undefined,
  };
}
