import { createCommit } from './commit';
import type { ActivityDeps } from './deps';
import { createFilter } from './filter';
import { createRunActivities } from './run';
import { createRunContexts } from './run-context';
import { createCalibrate, createGenerate } from './stages';

export type { ActivityDeps, ModelProvider } from './deps';

/**
 * Every activity, created from its dependencies. Workers register the subset their queue
 * serves: generate and calibrate on the GPU queue, the rest on the CPU queue.
 */
export function createActivities(deps: ActivityDeps) {
  const runContext = createRunContexts(deps);
  return {
    generate: createGenerate(deps, runContext),
    calibrate: createCalibrate(deps, runContext),
    filter: createFilter(runContext),
    commit: createCommit(deps, runContext),
    ...createRunActivities(runContext),
  };
}

export type Activities = ReturnType<typeof createActivities>;

export const GPU_ACTIVITIES = ['generate', 'calibrate'] as const;
export const CPU_ACTIVITIES = [
  'filter',
  'commit',
  'describeRun',
  'listCommittedShards',
  'writeManifest',
] as const;
