import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { type GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { ModelLoadError } from './errors';

const requireHere = createRequire(import.meta.url);

/** Folder of a package in node_modules, found the way Node would find it (no hard-coded paths). */
export function packageDir(pkg: string): string {
  return path.dirname(requireHere.resolve(`${pkg}/package.json`));
}

export function packageVersion(pkg: string): string {
  return (requireHere(`${pkg}/package.json`) as { version: string }).version;
}

async function readOrThrow(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new ModelLoadError(file, (err as NodeJS.ErrnoException).code ?? 'unreadable', { cause: err });
  }
}

async function readJson(file: string): Promise<unknown> {
  const text = (await readOrThrow(file)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(file, 'not valid JSON', { cause: err });
  }
}

function toArrayBuffer(parts: Buffer[]): ArrayBuffer {
  const all = Buffer.concat(parts);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
}

async function readShards(
  baseDir: string,
  manifest: tf.io.WeightsManifestConfig,
): Promise<{ specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer }> {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Buffer[] = [];
  for (const group of manifest) {
    specs.push(...group.weights);
    for (const p of group.paths) parts.push(await readOrThrow(path.join(baseDir, p)));
  }
  return { specs, data: toArrayBuffer(parts) };
}

function expectedBytes(specs: tf.io.WeightsManifestEntry[]): number {
  return specs.reduce((sum, s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const q = s.quantization?.dtype;
    const bytes = q === 'uint8' ? 1 : q === 'uint16' || q === 'float16' ? 2 : 4;
    return sum + n * bytes;
  }, 0);
}

/**
 * Reads a face-api style `*-weights_manifest.json` and its .bin shards from disk. A file read
 * instead of tf.io's HTTP/file handlers so the same path works on wasm and cpu, never a URL.
 */
export async function loadWeightMap(
  manifestPath: string,
  expected: readonly string[],
): Promise<tf.NamedTensorMap> {
  const manifest = (await readJson(manifestPath)) as tf.io.WeightsManifestConfig;
  if (!Array.isArray(manifest))
    throw new ModelLoadError(manifestPath, 'not a weights manifest (expected an array)');
  const { specs, data } = await readShards(path.dirname(manifestPath), manifest);
  if (data.byteLength !== expectedBytes(specs)) {
    throw new ModelLoadError(
      manifestPath,
      `weights are ${data.byteLength} bytes but the manifest describes ${expectedBytes(specs)} (truncated or mismatched .bin)`,
    );
  }
  let map: tf.NamedTensorMap;
  try {
    map = tf.io.decodeWeights(data, specs);
  } catch (err) {
    throw new ModelLoadError(manifestPath, `weights could not be decoded (${(err as Error).message})`, {
      cause: err,
    });
  }
  const missing = expected.filter((name) => !map[name]);
  if (missing.length) {
    tf.dispose(Object.values(map));
    throw new ModelLoadError(manifestPath, `missing tensors ${missing.slice(0, 5).join(', ')}`);
  }
  return map;
}

interface GraphModelJson {
  modelTopology: object;
  weightsManifest: tf.io.WeightsManifestConfig;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: object;
  userDefinedMetadata?: Record<string, unknown>;
}

/** Loads a TF.js graph model (model.json + shards) from files through tf.io.fromMemory. */
export async function loadGraphModelFile(jsonPath: string): Promise<GraphModel> {
  const json = (await readJson(jsonPath)) as GraphModelJson;
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelLoadError(jsonPath, 'not a TF.js graph model (modelTopology/weightsManifest missing)');
  }
  const { specs, data } = await readShards(path.dirname(jsonPath), json.weightsManifest);
  if (data.byteLength !== expectedBytes(specs)) {
    throw new ModelLoadError(
      jsonPath,
      `weights are ${data.byteLength} bytes, manifest describes ${expectedBytes(specs)}`,
    );
  }
  try {
    return await loadGraphModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: data,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
      }),
    );
  } catch (err) {
    throw new ModelLoadError(jsonPath, `graph model rejected by tfjs-converter (${(err as Error).message})`, {
      cause: err,
    });
  }
}
