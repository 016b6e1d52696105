import { CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { initialState } from '../workflows/handover';
import { ShardWindow } from '../workflows/window';

const input = {
  outputUrl: 's3://b/p',
  runId: 'r',
  queues: { workflows: 'w', gpu: 'g', cpu: 'c' },
  window: 4,
  timeouts: { heartbeatSeconds: 5, stageStartToCloseSeconds: 60 },
};

// The window's bookkeeping, outside a workflow: `start` stands in for startChild (a test double
// for a cancellation that lands while a child start is in flight, which timing cannot force).
describe('shard window', () => {
  it('a start cancelled in flight leaves no running slot behind to wait for', async () => {
    const state = initialState(input, 0);
    const window = new ShardWindow('r', [0, 1], state, {
      start: () => Promise.reject(new CancelledFailure('cancelled while starting')),
      done: () => {},
    });
    await expect(window.startNext()).rejects.toBeInstanceOf(CancelledFailure);
    expect(window.running).toBe(0);
  });

  it('counts a started child as running until its result, then hands the result on', async () => {
    const state = initialState(input, 0);
    let finish!: (v: unknown) => void;
    const results: unknown[] = [];
    const window = new ShardWindow('r', [7], state, {
      start: async () => ({ result: () => new Promise((resolve) => (finish = resolve)) }) as never,
      done: (r) => results.push(r),
    });
    await window.startNext();
    expect(window.running).toBe(1);
    expect(window.remaining).toBe(0);
    finish({ shard: 7 });
    await new Promise((r) => setTimeout(r, 0));
    expect(window.running).toBe(0);
    expect(results).toEqual([{ shard: 7 }]);
  });

  it('starts every free slot at once, and one per call in histories from before the patch', async () => {
    for (const [batch, expected] of [
      [true, [0, 1, 2, 3]],
      [false, [0]],
    ] as const) {
      const state = initialState(input, 0);
      const started: number[] = [];
      const window = new ShardWindow(
        'r',
        [0, 1, 2, 3, 4, 5],
        state,
        {
          start: async (shard) => {
            started.push(shard);
            return { result: () => new Promise(() => {}) } as never;
          },
          done: () => {},
        },
        batch,
      );
      await window.startNext();
      expect(started).toEqual(expected);
      expect(window.running).toBe(expected.length);
    }
  });
});
