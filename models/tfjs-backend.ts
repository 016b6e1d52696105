import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';

/**
 * The one place that picks the TF.js backend for this process. Everything else imports
 * `@tensorflow/tfjs-core` directly and runs on whatever backend this module activated, so one
 * tfjs-core instance serves every model on every backend.
 */

/** Preference order when nothing is requested: fastest first. */
export const TFJS_BACKEND_NAMES = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type TfjsBackendName = (typeof TFJS_BACKEND_NAMES)[number];

export const TfjsBackendOptionsSchema = z.object({
  /** Overrides the automatic choice (env `SYNFARM_TFJS_BACKEND`); unavailable means a typed error. */
  backend: z.enum(TFJS_BACKEND_NAMES).optional(),
  /** CUDA device index for tfjs-node-gpu (env `SYNFARM_GPU`); sets CUDA_VISIBLE_DEVICES before it loads. */
  gpu: z.number().int().min(0).optional(),
  /** Write one structured line to stderr naming the chosen backend (once per process). */
  verbose: z.boolean().optional(),
});
export type TfjsBackendOptions = z.infer<typeof TfjsBackendOptionsSchema>;

/** Recorded into every sample's `.json` so a label can be traced to the numerics that produced it. */
export interface TfjsBackendInfo {
  name: TfjsBackendName;
  version: string;
}

export type TfjsBackendErrorCode =
  | 'tfjs-backend-unavailable'
  | 'tfjs-backend-invalid'
  | 'tfjs-backend-conflict';

export class TfjsBackendError extends Error {
  override readonly name = 'TfjsBackendError';
  constructor(
    readonly code: TfjsBackendErrorCode,
    /** The option or env var the problem came from. */
    readonly field: string,
    readonly backend: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface BackendSpec {
  pkg: string;
  /** The name the package registers with tfjs-core. */
  tfName: string;
  howToInstall: string;
}

const BACKENDS: Record<TfjsBackendName, BackendSpec> = {
  'node-gpu': {
    pkg: '@tensorflow/tfjs-node-gpu',
    tfName: 'tensorflow',
    howToInstall:
      'install @tensorflow/tfjs-node-gpu on a CUDA machine (npm install @tensorflow/tfjs-node-gpu; its install ' +
      'script downloads libtensorflow, so the machine needs that download host and CUDA/cuDNN)',
  },
  node: {
    pkg: '@tensorflow/tfjs-node',
    tfName: 'tensorflow',
    howToInstall:
      'npm install @tensorflow/tfjs-node (its install script downloads libtensorflow for this platform)',
  },
  wasm: {
    pkg: '@tensorflow/tfjs-backend-wasm',
    tfName: 'wasm',
    howToInstall: 'npm install @tensorflow/tfjs-backend-wasm',
  },
  cpu: {
    pkg: '@tensorflow/tfjs-backend-cpu',
    tfName: 'cpu',
    howToInstall: 'npm install @tensorflow/tfjs-backend-cpu',
  },
};

const requireHere = createRequire(import.meta.url);

/**
 * tfjs-node and tfjs-node-gpu: one process already uses every core (or the device), so a node
 * runs one worker process and work that can spread over threads should.
 */
export function isNativeBackend(name: string): name is 'node' | 'node-gpu' {
  return name === 'node' || name === 'node-gpu';
}

export function isBackendInstalled(name: TfjsBackendName): boolean {
  try {
    requireHere.resolve(BACKENDS[name].pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * Merges explicit options over the environment. Options win so a test or a CLI flag is never
 * silently overridden by a stray env var.
 */
export function resolveBackendRequest(
  options: TfjsBackendOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): TfjsBackendOptions {
  const parsed = TfjsBackendOptionsSchema.parse(options);
  let backend = parsed.backend;
  const envBackend = env.SYNFARM_TFJS_BACKEND?.trim();
  if (backend === undefined && envBackend) {
    if (!(TFJS_BACKEND_NAMES as readonly string[]).includes(envBackend)) {
      throw new TfjsBackendError(
        'tfjs-backend-invalid',
        'SYNFARM_TFJS_BACKEND',
        envBackend,
        `SYNFARM_TFJS_BACKEND=${envBackend} is not a TF.js backend synfarm knows; use one of ${TFJS_BACKEND_NAMES.join('|')} or unset it for automatic choice`,
      );
    }
    backend = envBackend as TfjsBackendName;
  }
  let gpu = parsed.gpu;
  const envGpu = env.SYNFARM_GPU?.trim();
  if (gpu === undefined && envGpu) {
    const n = Number(envGpu);
    if (!Number.isInteger(n) || n < 0) {
      throw new TfjsBackendError(
        'tfjs-backend-invalid',
        'SYNFARM_GPU',
        envGpu,
        `SYNFARM_GPU=${envGpu} is not a GPU index; set it to a device number such as 0, or unset it`,
      );
    }
    gpu = n;
  }
  return { backend, gpu, verbose: parsed.verbose };
}

/**
 * The backends to try, in order. Pure so the order and the override can be tested without the
 * native packages: an explicit request yields only itself, and a request for a package that is
 * not installed is an error naming what to install.
 */
export function backendCandidates(
  requested: TfjsBackendName | undefined,
  installed: (name: TfjsBackendName) => boolean,
): TfjsBackendName[] {
  if (requested) {
    if (!installed(requested)) throw unavailable(requested, 'backend', 'it is not installed');
    return [requested];
  }
  return TFJS_BACKEND_NAMES.filter(installed);
}

function unavailable(name: TfjsBackendName, field: string, why: string, cause?: unknown): TfjsBackendError {
  return new TfjsBackendError(
    'tfjs-backend-unavailable',
    field,
    name,
    `TF.js backend "${name}" was requested but ${why}: ${BACKENDS[name].howToInstall}, or request another backend (${TFJS_BACKEND_NAMES.join('|')}) via --backend / SYNFARM_TFJS_BACKEND`,
    { cause },
  );
}

function packageVersion(pkg: string): string {
  try {
    return (requireHere(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return tf.version_core;
  }
}

async function registerBackend(name: TfjsBackendName, gpu: number | undefined): Promise<void> {
  const spec = BACKENDS[name];
  if (name === 'node-gpu' && gpu !== undefined) {
    // CUDA reads this once, when libtensorflow initialises, so it must be set before the import.
    process.env.CUDA_VISIBLE_DEVICES = String(gpu);
  }
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const distDir = path.join(
      path.dirname(requireHere.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
      'dist',
    );
    // A file path prefix: Node's emscripten loader reads the binaries from disk, never over the network.
    wasm.setWasmPaths(`${distDir}${path.sep}`);
  } else {
    await import(spec.pkg);
  }
  if (!tf.findBackendFactory(spec.tfName)) {
    throw new TfjsBackendError(
      'tfjs-backend-conflict',
      'backend',
      name,
      `${spec.pkg} loaded but registered its backend with a different copy of @tensorflow/tfjs-core; ` +
        'run npm dedupe (or align versions) so exactly one @tensorflow/tfjs-core is installed',
    );
  }
}

let active: TfjsBackendInfo | undefined;
let logged = false;

/** The backend activated by the last successful initTfjsBackend, if any. */
export function activeTfjsBackend(): TfjsBackendInfo | undefined {
  return active;
}

export interface InitTfjsBackendDeps {
  env?: NodeJS.ProcessEnv;
  installed?: (name: TfjsBackendName) => boolean;
  log?: (line: string) => void;
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Activates the requested or best available backend and returns what to record into samples.
 * Safe to call repeatedly and concurrently (calls run one at a time: tfjs-core reports failure
 * for a setBackend that overlaps another one); a later call with another explicit backend
 * switches to it.
 */
export function initTfjsBackend(
  options: TfjsBackendOptions = {},
  deps: InitTfjsBackendDeps = {},
): Promise<TfjsBackendInfo> {
  const run = queue.then(() => initOnce(options, deps));
  queue = run.catch(() => undefined);
  return run;
}

async function initOnce(options: TfjsBackendOptions, deps: InitTfjsBackendDeps): Promise<TfjsBackendInfo> {
  const request = resolveBackendRequest(options, deps.env ?? process.env);
  const field = options.backend ? 'backend' : 'SYNFARM_TFJS_BACKEND';
  let candidates: TfjsBackendName[];
  try {
    candidates = backendCandidates(request.backend, deps.installed ?? isBackendInstalled);
  } catch (err) {
    if (err instanceof TfjsBackendError)
      throw new TfjsBackendError(err.code, field, err.backend, err.message);
    throw err;
  }
  // Production mode also silences tfjs' console chatter (e.g. the cpu backend's "install
  // tfjs-node" banner), which would otherwise land in every worker's log.
  tf.enableProdMode();
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      await registerBackend(name, request.gpu);
      const ok = await tf.setBackend(BACKENDS[name].tfName);
      if (!ok) throw new Error(`tf.setBackend('${BACKENDS[name].tfName}') failed to initialise`);
      await tf.ready();
    } catch (err) {
      if (err instanceof TfjsBackendError) throw err;
      if (request.backend) throw unavailable(name, field, 'it failed to load', err);
      failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    active = { name, version: packageVersion(BACKENDS[name].pkg) };
    if (request.verbose && !logged) {
      logged = true;
      const line = JSON.stringify({
        event: 'tfjs-backend',
        backend: active.name,
        version: active.version,
        tfjsCore: tf.version_core,
        ...(request.gpu !== undefined ? { gpu: request.gpu } : {}),
        ...(failures.length ? { skipped: failures } : {}),
      });
      (deps.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
    }
    return active;
  }
  throw new TfjsBackendError(
    'tfjs-backend-unavailable',
    'backend',
    'any',
    `no TF.js backend could be loaded (${failures.join('; ') || 'none installed'}); npm install @tensorflow/tfjs-backend-cpu at least`,
  );
}
