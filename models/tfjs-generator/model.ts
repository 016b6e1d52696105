import { createHash } from 'node:crypto';
import { type GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { type LayersModel, loadLayersModel } from '@tensorflow/tfjs-layers';
import type { ModelSignature } from './descriptor';
import { TfjsGeneratorError } from './errors';
import { type ModelLocation, readJson } from './location';

/** A loaded model behind one call shape, whichever TF.js format it was saved in. */
export interface LoadedModel {
  readonly signature: ModelSignature;
  /** sha256 of model.json and its weight shards: the default generator version. */
  readonly contentHash: string;
  /** Runs a batch; `feeds` is keyed by model input name. The caller disposes the result. */
  run(feeds: tf.NamedTensorMap, outputName: string): Promise<tf.Tensor>;
  dispose(): void;
}

interface ModelJson {
  modelTopology?: unknown;
  format?: string;
  weightsManifest?: unknown;
}

function weightPaths(manifest: unknown): string[] | undefined {
  if (!Array.isArray(manifest)) return undefined;
  const paths: string[] = [];
  for (const group of manifest) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) return undefined;
    paths.push(...group.paths.map(String));
  }
  return paths;
}

function isLayersTopology(json: ModelJson): boolean {
  if (json.format === 'layers-model') return true;
  if (json.format === 'graph-model') return false;
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  return Boolean(topology && ('class_name' in topology || 'model_config' in topology));
}

/**
 * Reads model.json and every shard through the location (never tf.io's own loaders, so s3:// and
 * local files take the same path and no request leaves the object store) and loads the model.
 */
export async function loadModel(location: ModelLocation, field: string): Promise<LoadedModel> {
  const json = (await readJson(location, field)) as ModelJson;
  const paths = json && typeof json === 'object' ? weightPaths(json.weightsManifest) : undefined;
  if (!json || typeof json !== 'object' || !json.modelTopology || !paths) {
    throw new TfjsGeneratorError(
      'model-load-failed',
      field,
      `${location.url} is not a TF.js model.json (modelTopology or weightsManifest missing); export the model with tensorflowjs_converter or model.save()`,
    );
  }
  const hash = createHash('sha256');
  const jsonBytes = await location.read(location.fileName);
  hash.update(jsonBytes);
  const shards: ArrayBuffer[] = [];
  for (const p of paths) {
    const bytes = await location.read(p);
    hash.update(bytes);
    shards.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }
  const layers = isLayersTopology(json);
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await tf.io.getModelArtifactsForJSON(json as tf.io.ModelJSON, async (manifest) => [
      tf.io.getWeightSpecs(manifest),
      tf.io.CompositeArrayBuffer.join(shards),
    ]);
  } catch (err) {
    throw loadFailed(location, field, err);
  }
  const contentHash = hash.digest('hex');
  const handler = tf.io.fromMemory(artifacts);
  try {
    return layers
      ? wrapLayers(await loadLayersModel(handler), contentHash)
      : wrapGraph(await loadGraphModel(handler), contentHash);
  } catch (err) {
    throw loadFailed(location, field, err);
  }
}

function loadFailed(location: ModelLocation, field: string, err: unknown): TfjsGeneratorError {
  return new TfjsGeneratorError(
    'model-load-failed',
    field,
    `TF.js could not load ${location.url} (${(err as Error).message}); check that model.json and its weight files belong together`,
    { cause: err },
  );
}

function wrapLayers(model: LayersModel, contentHash: string): LoadedModel {
  const signature: ModelSignature = {
    format: 'layers-model',
    inputs: model.inputs.map((t, i) => ({
      name: model.inputNames[i] ?? t.name,
      shape: t.shape,
      dtype: t.dtype,
    })),
    outputs: model.outputs.map((t, i) => ({
      name: model.outputNames[i] ?? t.name,
      shape: t.shape,
      dtype: t.dtype,
    })),
  };
  return {
    signature,
    contentHash,
    async run(feeds, outputName) {
      const ordered = model.inputNames.map((name) => feeds[name]!);
      const index = model.outputNames.indexOf(outputName);
      return tf.tidy(() => {
        const out = model.predict(ordered);
        const all = Array.isArray(out) ? out : [out];
        const picked = all[index]!;
        return picked;
      });
    },
    dispose: () => model.dispose(),
  };
}

function wrapGraph(model: GraphModel, contentHash: string): LoadedModel {
  const signature: ModelSignature = {
    format: 'graph-model',
    inputs: model.inputs.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype })),
    outputs: model.outputs.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype })),
  };
  return {
    signature,
    contentHash,
    async run(feeds, outputName) {
      // executeAsync handles control-flow graphs too; a single named output returns one tensor.
      return (await model.executeAsync(feeds, outputName)) as tf.Tensor;
    },
    dispose: () => model.dispose(),
  };
}
