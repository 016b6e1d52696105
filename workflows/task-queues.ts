/**
 * The three task queues. A prefix lets tests (and several farms on one Temporal namespace)
 * run side by side without stealing each other's tasks; it travels in the workflow input so
 * children and activities land on the queues of the run that started them.
 */
export interface TaskQueues {
  workflows: string;
  gpu: string;
  cpu: string;
}

export function taskQueues(prefix = ''): TaskQueues {
  return {
    workflows: `${prefix}synfarm-workflows`,
    gpu: `${prefix}synfarm-gpu`,
    cpu: `${prefix}synfarm-cpu`,
  };
}
