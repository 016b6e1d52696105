import { describe, expect, it } from 'vitest';
import { describeDevice } from '../workers/backend';
import { mergeExpositions } from '../workers/metrics-server';

describe('worker metrics endpoint and backend report', () => {
  it('merges several processes into one exposition: each family once, every sample labelled', () => {
    const one = [
      '# HELP temporal_polls Polls.',
      '# TYPE temporal_polls counter',
      'temporal_polls{queue="a"} 3',
      '# TYPE temporal_up gauge',
      'temporal_up 1',
    ].join('\n');
    const two = [
      '# HELP temporal_polls Polls.',
      '# TYPE temporal_polls counter',
      'temporal_polls{queue="a"} 5',
    ].join('\n');
    const merged = mergeExpositions([
      { text: '# TYPE synfarm_x counter\nsynfarm_x 2\n' },
      { text: one, process: '0' },
      { text: two, process: '1' },
    ]);
    expect(merged.split('\n')).toEqual([
      '# TYPE synfarm_x counter',
      'synfarm_x 2',
      '# HELP temporal_polls Polls.',
      '# TYPE temporal_polls counter',
      'temporal_polls{process="0",queue="a"} 3',
      'temporal_polls{process="1",queue="a"} 5',
      '# TYPE temporal_up gauge',
      'temporal_up{process="0"} 1',
      '',
    ]);
  });

  it('names the device: a GPU package without a usable CUDA device says it fell back to the CPU', () => {
    // Plain objects stand in for tfjs-node-gpu's backend, which cannot be installed here (no CUDA).
    process.env.CUDA_VISIBLE_DEVICES = '3';
    try {
      expect(describeDevice('node-gpu', { isGPUPackage: true, isUsingGpuDevice: true })).toBe(
        'gpu (CUDA device 3)',
      );
      expect(describeDevice('node-gpu', { isGPUPackage: true, isUsingGpuDevice: false })).toMatch(
        /^cpu: tfjs-node-gpu found no usable CUDA device/,
      );
    } finally {
      delete process.env.CUDA_VISIBLE_DEVICES;
    }
    expect(describeDevice('node', {})).toBe('cpu (libtensorflow, multi-threaded)');
    expect(describeDevice('cpu', {})).toBe('cpu (plain JavaScript)');
  });
});
