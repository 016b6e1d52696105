import * as tf from '@tensorflow/tfjs-core';
import { initTfjsBackend, type TfjsBackendInfo, type TfjsBackendName } from '../models/tfjs-backend';

export interface ActiveBackend extends TfjsBackendInfo {
  /** Where the numbers are computed, as far as the backend can tell. */
  device: string;
}

/**
 * tfjs-node(-gpu)'s backend tells whether libtensorflow really placed work on a CUDA device
 * (`isUsingGpuDevice`); a GPU package that finds no usable device silently runs on the CPU,
 * which is exactly what a GPU node's operator must see at start.
 */
export function describeDevice(
  name: TfjsBackendName,
  backend: unknown = tf.backend(),
  wasmThreads = 1,
): string {
  const b = backend as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean };
  switch (name) {
    case 'node-gpu': {
      const visible = process.env.CUDA_VISIBLE_DEVICES;
      return b.isUsingGpuDevice
        ? `gpu (CUDA device ${visible ?? '0'})`
        : 'cpu: tfjs-node-gpu found no usable CUDA device (check the driver, CUDA 11.2 and cuDNN 8.1)';
    }
    case 'node':
      return 'cpu (libtensorflow, multi-threaded)';
    case 'wasm': {
      const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'simd' : 'no simd';
      return `cpu (wasm, ${simd}, ${wasmThreads === 1 ? 'single thread' : `${wasmThreads} threads`})`;
    }
    case 'cpu':
      return 'cpu (plain JavaScript)';
  }
}

/** Activates this process's TF.js backend (as models/tfjs-backend.ts chooses) and says where it runs. */
export async function activateBackend(options: {
  backend?: TfjsBackendName;
  gpu?: number;
}): Promise<ActiveBackend> {
  const info = await initTfjsBackend(options);
  const threads =
    info.name === 'wasm' ? (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount() : 1;
  return { ...info, device: describeDevice(info.name, tf.backend(), threads) };
}
