import { setTimeout as sleep } from 'node:timers/promises';
import type { ActivityDeps } from '../activities';
import { openStore, type StoreOptions } from '../storage';
import type { ObjectStore } from '../storage/object-store';
import { createModelProvider } from './models';

export interface WorkerDepsOptions {
  s3: StoreOptions;
  /**
   * Test hook: pause this long before every staged part and committed part, so crash tests can
   * kill a worker inside a stage. Set from SYNFARM_TEST_PART_DELAY_MS by tests only.
   */
  testPartDelayMs?: number;
}

/** The real dependencies a worker process gives its activities: one store per URL, one model set. */
export function createWorkerDeps(options: WorkerDepsOptions): ActivityDeps {
  const stores = new Map<string, ObjectStore>();
  const delay = options.testPartDelayMs ?? 0;
  const open = (url: string): ObjectStore => {
    let store = stores.get(url);
    if (!store) {
      store = openStore(url, options.s3);
      stores.set(url, store);
    }
    return store;
  };
  return {
    openStore: open,
    models: createModelProvider({ openStore: open }),
    testHooks: delay > 0 ? { beforePart: () => sleep(delay) } : undefined,
  };
}
