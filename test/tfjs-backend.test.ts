import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  backendCandidates,
  initTfjsBackend,
  resolveBackendRequest,
  TFJS_BACKEND_NAMES,
  TfjsBackendError,
  type TfjsBackendName,
} from '../models/tfjs-backend';

const only =
  (...names: TfjsBackendName[]) =>
  (n: TfjsBackendName) =>
    names.includes(n);

describe('backend choice', () => {
  it('prefers node-gpu, then node, then wasm, then cpu among installed backends', () => {
    expect(backendCandidates(undefined, () => true)).toEqual(['node-gpu', 'node', 'wasm', 'cpu']);
    expect(backendCandidates(undefined, only('cpu', 'wasm'))).toEqual(['wasm', 'cpu']);
    expect(backendCandidates(undefined, only('cpu', 'node'))).toEqual(['node', 'cpu']);
  });

  it('an explicit request is the only candidate even when a faster backend is installed', () => {
    expect(backendCandidates('cpu', () => true)).toEqual(['cpu']);
  });

  it('an explicitly requested backend that is not installed is a typed error naming what to install', () => {
    const err = (() => {
      try {
        backendCandidates('node', only('wasm', 'cpu'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TfjsBackendError);
    expect((err as TfjsBackendError).code).toBe('tfjs-backend-unavailable');
    expect((err as TfjsBackendError).message).toContain('npm install @tensorflow/tfjs-node');
  });

  it('reads SYNFARM_TFJS_BACKEND and SYNFARM_GPU, and options win over env', () => {
    const env = { SYNFARM_TFJS_BACKEND: 'cpu', SYNFARM_GPU: '1' };
    expect(resolveBackendRequest({}, env)).toMatchObject({ backend: 'cpu', gpu: 1 });
    expect(resolveBackendRequest({ backend: 'wasm', gpu: 0 }, env)).toMatchObject({
      backend: 'wasm',
      gpu: 0,
    });
    expect(resolveBackendRequest({}, {})).toMatchObject({ backend: undefined, gpu: undefined });
  });

  it('rejects an unknown SYNFARM_TFJS_BACKEND or a non-numeric SYNFARM_GPU with the variable named', () => {
    expect(() => resolveBackendRequest({}, { SYNFARM_TFJS_BACKEND: 'webgl' })).toThrow(
      expect.objectContaining({ code: 'tfjs-backend-invalid', field: 'SYNFARM_TFJS_BACKEND' }),
    );
    expect(() => resolveBackendRequest({}, { SYNFARM_GPU: 'first' })).toThrow(
      expect.objectContaining({ code: 'tfjs-backend-invalid', field: 'SYNFARM_GPU' }),
    );
  });
});

describe('initTfjsBackend', () => {
  const savedCuda = process.env.CUDA_VISIBLE_DEVICES;
  afterEach(() => {
    if (savedCuda === undefined) delete process.env.CUDA_VISIBLE_DEVICES;
    else process.env.CUDA_VISIBLE_DEVICES = savedCuda;
  });

  it('concurrent calls (several calibrators starting at once) all succeed', async () => {
    // First in this file, so the wasm backend is still uninitialised as in a fresh worker.
    const infos = await Promise.all([
      initTfjsBackend({ backend: 'wasm' }, { env: {} }),
      initTfjsBackend({ backend: 'wasm' }, { env: {} }),
      initTfjsBackend({ backend: 'cpu' }, { env: {} }),
    ]);
    expect(infos.map((i) => i.name)).toEqual(['wasm', 'wasm', 'cpu']);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('an env-requested backend that is missing rejects with the env var as the field', async () => {
    await expect(
      initTfjsBackend({}, { env: { SYNFARM_TFJS_BACKEND: 'node-gpu' }, installed: only('wasm', 'cpu') }),
    ).rejects.toMatchObject({
      code: 'tfjs-backend-unavailable',
      field: 'SYNFARM_TFJS_BACKEND',
      backend: 'node-gpu',
    });
  });

  it('sets CUDA_VISIBLE_DEVICES before loading tfjs-node-gpu and falls back when it fails to load', async () => {
    delete process.env.CUDA_VISIBLE_DEVICES;
    const lines: string[] = [];
    // node-gpu "installed" but its import fails here: auto mode must move on to the next backend.
    const info = await initTfjsBackend(
      { gpu: 3, verbose: true },
      { env: {}, installed: only('node-gpu', 'cpu'), log: (l) => lines.push(l) },
    );
    expect(process.env.CUDA_VISIBLE_DEVICES).toBe('3');
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(lines).toHaveLength(1);
    const logged = JSON.parse(lines[0]!);
    expect(logged).toMatchObject({ event: 'tfjs-backend', backend: 'cpu', gpu: 3 });
    expect(logged.skipped[0]).toMatch(/^node-gpu:/);
  });

  it('logs the chosen backend once per process and stays quiet unless verbose', async () => {
    const lines: string[] = [];
    await initTfjsBackend({ backend: 'wasm', verbose: true }, { env: {}, log: (l) => lines.push(l) });
    await initTfjsBackend({ backend: 'cpu' }, { env: {}, log: (l) => lines.push(l) });
    // The earlier test already logged once in this process.
    expect(lines).toEqual([]);
  });

  it('returns name and package version of the active backend', async () => {
    const info = await initTfjsBackend({ backend: 'wasm' }, { env: {} });
    expect(info).toEqual({ name: 'wasm', version: tf.version_core });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('wasm and cpu compute the same convolution + matmul + softmax within tolerance', async () => {
    const compute = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(
          Array.from({ length: 1 * 9 * 9 * 3 }, (_, i) => Math.sin(i * 0.37)),
          [1, 9, 9, 3],
        );
        const w = tf.tensor4d(
          Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 0.11)),
          [3, 3, 3, 4],
        );
        const y = tf.relu(tf.conv2d(x, w, 2, 'same'));
        const flat = tf.reshape(y, [1, -1]) as tf.Tensor2D;
        const width = flat.shape[1];
        const m = tf.tensor2d(
          Array.from({ length: width * 5 }, (_, i) => Math.sin(i * 0.05)),
          [width, 5],
        );
        return tf.softmax(tf.matMul(flat, m));
      });
    const results: Record<string, number[]> = {};
    for (const name of ['wasm', 'cpu'] as const) {
      const info = await initTfjsBackend({ backend: name }, { env: {} });
      expect(info.name).toBe(name);
      expect(tf.getBackend()).toBe(name);
      const t = compute();
      results[name] = Array.from(await t.data());
      t.dispose();
    }
    expect(results.wasm).toHaveLength(5);
    results.wasm!.forEach((v, i) => {
      expect(v).toBeCloseTo(results.cpu![i]!, 4);
    });
    expect(TFJS_BACKEND_NAMES).toContain('wasm');
  });
});
