import type { Calibrator } from '../models/calibrator/schema';
import type { Generator } from '../models/generator';
import type { Spec } from '../spec/schema';
import type { ObjectStore } from '../storage/object-store';

/**
 * Everything activities need from the outside world, injected by the worker (real clients and
 * models) so that activities have no module-level singletons.
 */
export interface ActivityDeps {
  /** Opens (and may cache) the store behind a run's output URL. */
  openStore(outputUrl: string): ObjectStore;
  /** Models are loaded once per worker process and shared by every task. */
  models: ModelProvider;
  /**
   * Test hook, named as such: called before each staged part and each committed sample so a
   * crash test can hold a worker inside a stage long enough to kill it there. Never set in
   * production wiring.
   */
  testHooks?: {
    beforePart?(stage: 'generate' | 'calibrate' | 'commit', shard: number, part: number): Promise<void>;
  };
}

export interface ModelProvider {
  generator(spec: Spec): Promise<Generator>;
  calibrator(spec: Spec): Promise<Calibrator>;
}
