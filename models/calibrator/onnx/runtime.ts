import { createRequire } from 'node:module';
import type * as tf from '@tensorflow/tfjs-core';
import type { InferenceSession } from 'onnxruntime-node';
import { emotionInput } from '../human-emotion';
import type { EnsembleModels, FaceModelOutputs, InferenceRuntime, RuntimeInfo } from '../infer';
import { detectorGraph, emotionGraph, faceNetGraph } from './graphs';
import { encodeModel, type OnnxGraph } from './proto';
import { ThreadedSessions } from './threaded-sessions';

export const ONNX_RUNTIME_PACKAGE = 'onnxruntime-node';

/** onnxruntime-node could not be loaded, or refused a converted model. */
export class OnnxRuntimeError extends Error {
  override readonly name = 'OnnxRuntimeError';
  readonly code = 'onnx-runtime-unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface OnnxRuntimeOptions {
  /** Threads per model run; 1 keeps one process on one core, as the worker pool expects. */
  threads?: number;
}

function ortVersion(): string {
  try {
    const pkg = createRequire(import.meta.url)(`${ONNX_RUNTIME_PACKAGE}/package.json`) as { version: string };
    return pkg.version;
  } catch (err) {
    throw new OnnxRuntimeError(
      `runtime "onnx" needs ${ONNX_RUNTIME_PACKAGE}, which is not installed; run npm ci, or use runtime "tfjs"`,
      { cause: err },
    );
  }
}

/** onnxruntime loaded on a thread of its own; an OnnxRuntimeError when it cannot load there. */
async function startThread(): Promise<ThreadedSessions> {
  try {
    return await ThreadedSessions.start(ONNX_RUNTIME_PACKAGE);
  } catch (err) {
    throw new OnnxRuntimeError(
      `runtime "onnx" needs ${ONNX_RUNTIME_PACKAGE}, which failed to load (${(err as Error).message}); ` +
        'run npm ci, or use runtime "tfjs"',
      { cause: err },
    );
  }
}

/** The ONNX models of an ensemble, built from its loaded weights; also written out by scripts/export-onnx.ts. */
export async function ensembleGraphs(models: EnsembleModels): Promise<Record<string, OnnxGraph>> {
  const graphs: Record<string, OnnxGraph> = { detector: detectorGraph(models.detector) };
  if (models.expression) graphs.expression = faceNetGraph(models.expression, 'face_expression', true);
  if (models.landmarks) graphs.landmarks = faceNetGraph(models.landmarks, 'face_landmark_68', false);
  if (models.emotion) graphs.emotion = await emotionGraph(models.emotion);
  return graphs;
}

/**
 * Stage 4 on onnxruntime's CPU library (shipped inside the npm package). The nets are converted
 * in memory from the weights the TF.js loader read, so both runtimes run the same numbers; the
 * input preparation (resize, crop, the emotion model's grey input) stays on TF.js.
 */
export async function onnxRuntime(
  models: EnsembleModels,
  options: OnnxRuntimeOptions = {},
): Promise<InferenceRuntime & { info: RuntimeInfo }> {
  const version = ortVersion();
  const threads = options.threads ?? 1;
  const sessionOptions: InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const graphs = await ensembleGraphs(models);
  const sessions = await startThread();
  try {
    for (const [name, graph] of Object.entries(graphs)) {
      await sessions.create(name, encodeModel(graph, 'synfarm'), sessionOptions);
    }
  } catch (err) {
    await sessions.close();
    throw new OnnxRuntimeError(`onnxruntime refused a converted model: ${(err as Error).message}`, {
      cause: err,
    });
  }

  async function run(name: string, input: tf.Tensor): Promise<Float32Array> {
    return sessions.run(name, (await input.data()) as Float32Array, input.shape);
  }

  return {
    info: { name: 'onnxruntime', version },
    detect: (input) => run('detector', input),
    async faces(crops) {
      const out: FaceModelOutputs = {};
      if (graphs.expression) out.expression = await run('expression', crops);
      if (graphs.landmarks) out.landmarks = await run('landmarks', crops);
      if (graphs.emotion && models.emotion) {
        const gray = emotionInput(crops, models.emotion.inputSize);
        try {
          out.emotion = await run('emotion', gray);
        } finally {
          gray.dispose();
        }
      }
      return out;
    },
    dispose() {
      void sessions.close();
    },
  };
}
