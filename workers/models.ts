import type { ModelProvider } from '../activities/deps';
import { type EnsembleCalibratorOptions, EXPRESSION_MODEL_IDS } from '../models/calibrator/ensemble';
import type { Calibrator } from '../models/calibrator/schema';
import type { Generator } from '../models/generator';
import type { Spec } from '../spec';

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
export function createModelProvider(): ModelProvider {
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
          default:
            throw new BackendUnavailableError(
              'generator.backend',
              settings.backend,
              'is not implemented in this build yet: use procedural or testpattern',
            );
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

/** The launch-time check: refuses a backend this build cannot run before any run starts. */
export function checkBackends(spec: Spec): void {
  if (spec.calibrator.backend === 'ensemble') ensembleOptions(spec);
  if (spec.generator.backend !== 'procedural' && spec.generator.backend !== 'testpattern') {
    throw new BackendUnavailableError(
      'generator.backend',
      spec.generator.backend,
      'is not implemented in this build yet: use procedural or testpattern',
    );
  }
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
