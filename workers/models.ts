import type { ModelProvider } from '../activities/deps';
import { type EnsembleCalibratorOptions, EXPRESSION_MODEL_IDS } from '../models/calibrator/ensemble';
import type { Calibrator } from '../models/calibrator/schema';
import type { Generator } from '../models/generator';
import type { Spec } from '../spec';
import type { ObjectStore } from '../storage/object-store';

export class BackendUnavailableError extends Error {
  readonly code = 'backend-unavailable';
  constructor(
    readonly field: string,
    readonly backend: string,
    detail: string,
  ) {
    super(`${field}: backend "${backend}" ${detail}`);
    this.name = 'BackendUnavailableError';
  }
}

/**
 * Loads each model once per worker process and hands the same instance to every task that asks
 * for the same settings (model weights are large; loading per task would dominate run time).
 */
export function createModelProvider(deps: { openStore: (url: string) => ObjectStore }): ModelProvider {
  const generators = new Map<string, Promise<Generator>>();
  const calibrators = new Map<string, Promise<Calibrator>>();
  const once = <T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> => {
    let value = cache.get(key);
    if (!value) {
      value = make();
      value.catch(() => cache.delete(key));
      cache.set(key, value);
    }
    return value;
  };
  return {
    generator(spec: Spec) {
      const settings = spec.generator;
      return once(generators, JSON.stringify(settings), async () => {
        switch (settings.backend) {
          case 'testpattern':
            return (await import('../models/testpattern')).createTestPatternGenerator();
          case 'procedural':
            return (await import('../models/procedural')).createProceduralGenerator();
          case 'tfjs':
            return (await import('../models/tfjs-generator')).createTfjsGenerator(settings, {
              openStore: deps.openStore,
            });
          case 'http':
            return (await import('../models/http-generator')).createHttpGenerator(settings);
        }
      });
    },
    calibrator(spec: Spec) {
      const settings = spec.calibrator;
      return once(calibrators, JSON.stringify(settings), async () => {
        if (settings.backend === 'passthrough') {
          return (await import('../models/calibrator/passthrough')).createPassthroughCalibrator();
        }
        const { createEnsembleCalibrator } = await import('../models/calibrator');
        return createEnsembleCalibrator(ensembleOptions(spec));
      });
    },
  };
}

/**
 * The launch-time check: what can be refused without loading a model (an unknown calibrator
 * model id) is refused before any run starts. Model files and servers are checked by the
 * first generate, which fails the run at once, non-retryably, when they are wrong.
 */
export function checkBackends(spec: Spec): void {
  if (spec.calibrator.backend === 'ensemble') ensembleOptions(spec);
}

/**
 * The spec's calibrator section in the ensemble's terms. `drop` labels like `synfer`; the
 * filter then rejects disagreeing samples instead of keeping them with a soft label.
 */
export function ensembleOptions(spec: Spec): EnsembleCalibratorOptions {
  const c = spec.calibrator;
  const unknown = c.models.filter((m) => !(EXPRESSION_MODEL_IDS as readonly string[]).includes(m));
  if (unknown.length > 0) {
    throw new BackendUnavailableError(
      'calibrator.models',
      unknown.join(', '),
      `is not a shipped expression model; choose from ${EXPRESSION_MODEL_IDS.join(', ')}`,
    );
  }
  return {
    ...(c.models.length > 0 ? { models: c.models as (typeof EXPRESSION_MODEL_IDS)[number][] } : {}),
    imageSize: { width: spec.image.size, height: spec.image.size },
    policy: {
      mode: c.policy === 'keep-intended' ? 'intended' : 'synfer',
      mixWeight: c.mixWeight,
      temperatures: c.temperatures,
    },
  };
}
