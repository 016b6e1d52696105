import { createCalibrate } from './calibrate';
import { createCommit } from './commit';
import type { ActivityDeps } from './deps';
import { createDescribeRun } from './describe-run';
import { createFilter } from './filter';
import { createGenerate } from './generate';
import { createRunContexts } from './run-context';
import { createRunIndexActivities } from './run-index';

export type { ActivityDeps, ModelProvider } from './deps';

/**
 * Every activity, created from its dependencies. Workers register the subset their queue
 * serves, as ACTIVITY_QUEUES says.
 */
export function createActivities(deps: ActivityDeps) {
  const runContext = createRunContexts(deps);
  return {
    generate: createGenerate(deps, runContext),
    calibrate: createCalibrate(deps, runContext),
    filter: createFilter(runContext),
    commit: createCommit(deps, runContext),
    describeRun: createDescribeRun(runContext),
    ...createRunIndexActivities(runContext),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type ActivityName = keyof Activities;
/** The activity task queues (the third queue, `workflows`, runs workflow tasks only). */
export type ActivityQueue = 'gpu' | 'cpu';

/**
 * Which activity runs on which queue: the one table workers and workflows agree on. `satisfies`
 * makes the compiler refuse an activity missing here, or a name that is not an activity.
 */
export const ACTIVITY_QUEUES = {
  generate: 'gpu',
  calibrate: 'gpu',
  filter: 'cpu',
  commit: 'cpu',
  describeRun: 'cpu',
  syncRunIndex: 'cpu',
  recordShards: 'cpu',
  finishRun: 'cpu',
} as const satisfies Record<ActivityName, ActivityQueue>;

/** The activities one queue serves, picked from a full set by ACTIVITY_QUEUES. */
export function activitiesForQueue(activities: Activities, queue: ActivityQueue): Partial<Activities> {
  const names = (Object.keys(ACTIVITY_QUEUES) as ActivityName[]).filter((n) => ACTIVITY_QUEUES[n] === queue);
  return Object.fromEntries(names.map((n) => [n, activities[n]])) as Partial<Activities>;
}
