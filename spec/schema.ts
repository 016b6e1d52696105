import { z } from 'zod';
import { AFFECTNET_CLASSES, AU_IDS } from '../plan/expressions';
import { MAX_SHARDS, maxShardSize, ROUND_CAPACITY_FACTOR } from '../plan/keys';
import { literalSecretsInUrl } from '../storage/redact';
import { normalizeOutputUrl, OUTPUT_EXPECTED } from './output-url';
import { parseTarget, TARGET_EXPECTED } from './target';

/*
 * Every check carries an `error` that states what is expected; SpecError prefixes it with the
 * field path and the value given, so each message reads "<field>: got <value>; expected <this>".
 */

function intIn(min: number, max: number, expected = `an integer from ${min} to ${max}`) {
  return z
    .number({ error: expected })
    .int({ error: expected })
    .min(min, { error: expected })
    .max(max, { error: expected });
}

function numberIn(min: number, max: number, expected = `a number from ${min} to ${max}`) {
  return z.number({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `one of ${values.join(', ')}` });
}

function mapping(what: string) {
  return { error: `a mapping of ${what}` };
}

export const RUN_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const RUN_ID_EXPECTED =
  'a run id of 1-63 characters from a-z, 0-9 and "-", starting with a letter or digit ' +
  `(matching ${RUN_ID_PATTERN}; it becomes part of S3 keys and Temporal workflow ids)`;

export const RunIdSchema = z
  .string({ error: RUN_ID_EXPECTED })
  .regex(RUN_ID_PATTERN, { error: RUN_ID_EXPECTED });

/**
 * Defaults to 1 rather than a random value: the same spec always plans the same data, and the
 * resolved spec.json records the seed explicitly. Choose another seed to get different samples.
 */
export const DEFAULT_SEED = 1;
export const SeedSchema = intIn(0, 0xffffffff, 'a uint32 seed: an integer from 0 to 4294967295').default(
  DEFAULT_SEED,
);

export const DEFAULT_SHARD_SIZE = 1000;
export const ShardSizeSchema = intIn(1, 100_000, 'samples per shard: an integer from 1 to 100000').default(
  DEFAULT_SHARD_SIZE,
);

const ImageObject = z.strictObject(
  {
    /** Square side in pixels: FER models read 112-224 px crops; SD 1.x generates 512. */
    size: intIn(112, 512).default(224),
    format: oneOf(['jpg', 'png']).default('jpg'),
    /** JPEG quality; ignored for png. */
    quality: intIn(1, 100).default(90),
  },
  mapping('size, format and quality'),
);
export const ImageSchema = ImageObject.prefault({});
export type ImageSettings = z.infer<typeof ImageSchema>;

const MODEL_LOCATION_EXPECTED =
  'a TF.js model.json location: a file path, file:///absolute/path, s3://bucket/key or https://host/path (plain http is refused: weights must not travel unauthenticated)';
const ModelLocationSchema = z
  .string({ error: MODEL_LOCATION_EXPECTED })
  .min(1, { error: MODEL_LOCATION_EXPECTED })
  .refine(
    (s) => !/^[a-z][a-z0-9+.-]*:/i.test(s) || /^(file:\/\/\/|s3:\/\/[a-z0-9]|https:\/\/[^/]+\/)/.test(s),
    {
      error: MODEL_LOCATION_EXPECTED,
    },
  );

const HTTP_URL_EXPECTED = 'an http:// or https:// URL of the inference server';
/**
 * spec.json is a run object every dataset reader can open, and the spec's settings reach logs and
 * errors: a credential in the URL is written as `${ENV_NAME}`, which only the GPU workers resolve
 * from their own environment (models/http-generator/secret-url.ts).
 */
// The example is not written as a whole URL: error output redacts every URL's query and password.
const HTTP_URL_SECRET_EXPECTED =
  `a URL without credentials written out: put \${ENV_NAME} in place of the password or token ` +
  `(e.g. end the URL with ?token=\${GEN_TOKEN}) and set ENV_NAME on the GPU workers`;
const HttpUrlSchema = z
  .string({ error: HTTP_URL_EXPECTED })
  .refine(
    (s) => {
      try {
        const url = new URL(s);
        return url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { error: HTTP_URL_EXPECTED },
  )
  .refine((s) => literalSecretsInUrl(s).length === 0, { error: HTTP_URL_SECRET_EXPECTED });

export const GENERATOR_BACKENDS = ['procedural', 'testpattern', 'tfjs', 'http'] as const;
export const DEFAULT_GENERATOR_BACKEND = 'procedural';

const batchSize = intIn(1, 1024).default(16);
const generatorSettings = mapping('generator settings (backend, batchSize, ...)');

/** Backend-specific settings as a discriminated union: a key of another backend is an error. */
const GeneratorVariants = [
  z.strictObject({ backend: z.literal('procedural'), batchSize }, generatorSettings),
  z.strictObject({ backend: z.literal('testpattern'), batchSize }, generatorSettings),
  z.strictObject(
    {
      backend: z.literal('tfjs'),
      batchSize,
      /** The graph model's model.json (see models/ for the documented signature). */
      modelUrl: ModelLocationSchema,
      /** Optional JSON describing input/output names when they differ from the default signature. */
      descriptorUrl: ModelLocationSchema.optional(),
    },
    generatorSettings,
  ),
  z.strictObject(
    {
      backend: z.literal('http'),
      batchSize,
      url: HttpUrlSchema,
      protocol: oneOf(['synfarm', 'a1111']).default('synfarm'),
      timeoutMs: intIn(1000, 3_600_000).default(120_000),
      /** Requests in flight at once per worker. */
      concurrency: intIn(1, 64).default(4),
    },
    generatorSettings,
  ),
] as const;
const GeneratorUnion = z.discriminatedUnion('backend', GeneratorVariants, {
  error: `one of ${GENERATOR_BACKENDS.join(', ')}`,
});

/** `generator: tfjs` is shorthand for `generator: { backend: tfjs }`; a missing backend is the default. */
export const GeneratorSchema = z.preprocess((value) => {
  if (value === undefined) return { backend: DEFAULT_GENERATOR_BACKEND };
  if (typeof value === 'string') return { backend: value };
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !('backend' in value)) {
    return { backend: DEFAULT_GENERATOR_BACKEND, ...value };
  }
  return value;
}, GeneratorUnion);
export type GeneratorSettings = z.infer<typeof GeneratorSchema>;

const MODEL_ID_EXPECTED = 'a non-empty model id';
const CalibratorObject = z.strictObject(
  {
    backend: oneOf(['ensemble', 'passthrough']).default('ensemble'),
    /** FER model ids for the ensemble; empty means the calibrator's built-in default ensemble. */
    models: z
      .array(z.string({ error: MODEL_ID_EXPECTED }).min(1, { error: MODEL_ID_EXPECTED }), {
        error: 'a list of model ids',
      })
      .refine((ids) => new Set(ids).size === ids.length, { error: 'a list of model ids without repeats' })
      .default([]),
    /**
     * What to do when the ensemble disagrees with the intended class: 'synfer' keeps the sample
     * with a soft label (SynFER's FERAnno rule), 'drop' rejects it, 'keep-intended' keeps the
     * intended hard label.
     */
    policy: oneOf(['synfer', 'drop', 'keep-intended']).default('synfer'),
    /** Weight of the intended one-hot label against the ensemble average in the soft label. */
    mixWeight: numberIn(0, 1).default(0.5),
    /** Per-model softmax temperature (model id -> T > 0), from calibration on held-out data. */
    temperatures: z
      .record(
        z.string(),
        z
          .number({ error: 'a temperature > 0 and <= 100' })
          .gt(0, { error: 'a temperature > 0 and <= 100' })
          .max(100, { error: 'a temperature > 0 and <= 100' }),
        mapping('model id to temperature'),
      )
      .default({}),
  },
  mapping('calibrator settings (backend, models, policy, mixWeight, temperatures)'),
);
export const CalibratorSchema = CalibratorObject.superRefine((calibrator, ctx) => {
  // Runs even when a field failed (see checkKeySpace), so the shapes it reads are checked first.
  if (!Array.isArray(calibrator.models) || calibrator.models.length === 0) return;
  if (calibrator.temperatures === null || typeof calibrator.temperatures !== 'object') return;
  for (const id of Object.keys(calibrator.temperatures)) {
    if (!calibrator.models.includes(id)) {
      ctx.addIssue({
        code: 'custom',
        path: ['temperatures', id],
        message: `a model id listed in calibrator.models (${calibrator.models.join(', ')})`,
      });
    }
  }
}).prefault({});
export type CalibratorSettings = z.infer<typeof CalibratorSchema>;

const FilterObject = z.strictObject(
  {
    /** Face detector score below which a sample has no usable face. */
    minFaceScore: numberIn(0, 1).default(0.5),
    /** Calibrated confidence below which a label is too uncertain to ship. */
    minConfidence: numberIn(0, 1).default(0.3),
    /**
     * Require the calibrated class to equal the intended one. Off by default: the 'synfer'
     * policy already turns disagreement into a soft label instead of a wrong hard label.
     */
    requireAgreement: z.boolean({ error: 'true or false' }).default(false),
    /** Deficit rounds after the first generation of a shard, before a shortfall is recorded. */
    maxRounds: intIn(0, 10).default(3),
    /**
     * A deficit round asks for a class's deficit divided by the class's yield so far in the shard
     * (kept with it as their class / generated as it), at most this many times the deficit:
     * classes the calibrator rarely confirms then fill. 1 asks for exactly the deficit.
     */
    maxOvergeneration: intIn(1, ROUND_CAPACITY_FACTOR).default(ROUND_CAPACITY_FACTOR),
    /** Max Hamming distance between 64-bit perceptual hashes that counts as a duplicate (0 = identical). */
    dedupeHamming: intIn(0, 64).default(4),
    /**
     * Load tests only: reject this fraction of samples (chosen by key hash, reason `load-test`)
     * so deficit rounds run even with the passthrough calibrator. 0 in any real run.
     */
    testRejectFraction: numberIn(0, 0.9).default(0),
    /**
     * AU evidence: a requested AU of at least `auRequestedMin` measured below `auMissingBelow`, or
     * an unrequested one (< 0.5) measured at `auUnrequestedAbove` or more, contradicts the request.
     * Only the `auChecked` AUs count: landmark evidence of the others is too weak on synthetic
     * faces (scripts/measure-quality.ts) to reject on. An empty list turns the rule off.
     */
    auRequestedMin: numberIn(0, 5).default(2.5),
    auMissingBelow: numberIn(0, 5).default(0.1),
    auUnrequestedAbove: numberIn(0, 5).default(4.5),
    auChecked: z
      .array(oneOf(AU_IDS), { error: `a list of AU ids (${AU_IDS.join(', ')})` })
      .default(['AU1', 'AU12', 'AU26']),
    /** Variance of the Laplacian of the grey face crop at 128 px below which it is too blurred; 0 = off. */
    minSharpness: numberIn(0, 100_000).default(20),
    /** Mean grey level of the face crop outside [minMeanLuma, maxMeanLuma] is badly exposed. */
    minMeanLuma: numberIn(0, 255).default(20),
    maxMeanLuma: numberIn(0, 255).default(235),
    /** Fraction of the face crop crushed to black or blown to white above which it is badly exposed. */
    maxClippedFraction: numberIn(0, 1).default(0.4),
    /**
     * Which label a shard's class quotas count: `calibrated` (what the ensemble read; the class
     * mix delivered is the one asked for) or `intended` (what was rendered).
     */
    balanceBy: oneOf(['calibrated', 'intended']).default('calibrated'),
    /** Steer deficit rounds toward what the calibrator recognises (guidance/). */
    guidance: z.boolean({ error: 'true or false' }).default(true),
    /** Classes whose acceptance in a round is below this get guidance for the next round. */
    guidanceMinAcceptance: numberIn(0, 1).default(0.9),
    /** Prototype AU gain per round: 1 + guidanceGain x (1 - acceptance), compounded, capped. */
    guidanceGain: numberIn(0, 2).default(0.5),
    guidanceMaxGain: numberIn(1, 3).default(1.6),
    /** Factor applied to AUs that pushed the ensemble to the confused class (0 removes them). */
    guidanceSuppress: numberIn(0, 1).default(0.5),
  },
  mapping(
    'filter settings (minFaceScore, minConfidence, requireAgreement, maxRounds, maxOvergeneration, dedupeHamming, testRejectFraction, au*, minSharpness, exposure, balanceBy, guidance*)',
  ),
);
export const FilterSchema = FilterObject.prefault({});
export type FilterSettings = z.infer<typeof FilterSchema>;

export const ClassWeightSchema = z.strictObject({
  name: oneOf(AFFECTNET_CLASSES),
  /** AffectNet index: the `.cls` value of samples of this class. */
  index: intIn(0, AFFECTNET_CLASSES.length - 1),
  /** Relative weight; the plan normalises over the listed classes. */
  weight: z.number().positive(),
});
export type ClassWeight = z.infer<typeof ClassWeightSchema>;

const CLASS_LIST_EXPECTED = `a list of class names (${AFFECTNET_CLASSES.join(', ')}) or a mapping class -> weight`;
const WEIGHT_EXPECTED = 'a weight > 0 (omit the class to exclude it)';
const ClassNameSchema = oneOf(AFFECTNET_CLASSES);
const ClassListSchema = z
  .array(ClassNameSchema, { error: CLASS_LIST_EXPECTED })
  .min(1, { error: 'at least one class' });

/** Repeats are checked on the raw list so they are reported alongside misspelt names, not after. */
function addRepeatIssues(list: readonly unknown[], ctx: z.RefinementCtx): boolean {
  let repeated = false;
  list.forEach((name, i) => {
    if (list.indexOf(name) !== i) {
      ctx.addIssue({ code: 'custom', path: [i], message: 'each class listed once' });
      repeated = true;
    }
  });
  return repeated;
}
const ClassMapSchema = z
  .partialRecord(
    ClassNameSchema,
    z
      .number({ error: WEIGHT_EXPECTED })
      .positive({ error: WEIGHT_EXPECTED })
      .refine(Number.isFinite, { error: WEIGHT_EXPECTED }),
    { error: CLASS_LIST_EXPECTED },
  )
  .refine((map) => Object.keys(map).length > 0, { error: 'at least one class' });

/** Re-raises a nested parse's issues at the current field (zod prefixes their paths). */
function forwardIssues(error: z.ZodError, ctx: z.RefinementCtx): never {
  for (const issue of error.issues) ctx.addIssue({ ...issue, input: undefined } as never);
  return z.NEVER;
}

export const DEFAULT_CLASSES: readonly ClassWeight[] = AFFECTNET_CLASSES.map((name, index) => ({
  name,
  index,
  weight: 1,
}));

/**
 * The class set: omitted = AffectNet's 8 classes with equal weights; a list = those classes with
 * equal weights; a mapping = those classes with the given weights. Resolved in AffectNet index
 * order whatever the order written, so equal sets give equal specs.
 */
export const ClassesInputSchema = z
  .unknown()
  .transform((value, ctx): ClassWeight[] => {
    let entries: [string, number][];
    if (Array.isArray(value)) {
      const list = ClassListSchema.safeParse(value);
      const repeated = addRepeatIssues(value, ctx);
      if (!list.success) return forwardIssues(list.error, ctx);
      if (repeated) return z.NEVER;
      entries = list.data.map((name) => [name, 1]);
    } else {
      const map = ClassMapSchema.safeParse(value);
      if (!map.success) return forwardIssues(map.error, ctx);
      entries = Object.entries(map.data) as [string, number][];
    }
    const weights = new Map(entries);
    return AFFECTNET_CLASSES.flatMap((name, index) =>
      weights.has(name) ? [{ name, index, weight: weights.get(name)! }] : [],
    );
  })
  .default(() => DEFAULT_CLASSES.map((c) => ({ ...c })));

export const TargetSchema = z
  .union([z.number(), z.string()], { error: TARGET_EXPECTED })
  .transform((value, ctx) => {
    const samples = parseTarget(value);
    if (samples === undefined) {
      ctx.addIssue({ code: 'custom', message: TARGET_EXPECTED });
      return z.NEVER;
    }
    return samples;
  });

export const OutputUrlSchema = z.string({ error: OUTPUT_EXPECTED }).transform((value, ctx) => {
  const url = normalizeOutputUrl(value);
  if (url === undefined) {
    ctx.addIssue({ code: 'custom', message: OUTPUT_EXPECTED });
    return z.NEVER;
  }
  return url;
});

export const SPEC_VERSION = 1;

/**
 * Checks that need several fields. zod runs refinements even after non-fatal field issues (a
 * number out of range), so each check first confirms the fields it reads are valid.
 */
function checkKeySpace(
  spec: { targetSamples: number; shardSize: number; filter: FilterSettings },
  ctx: z.RefinementCtx,
  paths: { target: string; shardSize: string },
) {
  const shardSize = ShardSizeSchema.safeParse(spec.shardSize);
  const maxRounds = FilterSchema.safeParse(spec.filter).data?.maxRounds;
  if (!shardSize.success) return;
  const shardCount = Math.ceil(spec.targetSamples / spec.shardSize);
  if (Number.isSafeInteger(spec.targetSamples) && shardCount > MAX_SHARDS) {
    ctx.addIssue({
      code: 'custom',
      path: [paths.target],
      message: `at most ${MAX_SHARDS.toLocaleString('en-US')} shards (shard numbers have 6 digits): raise shardSize or lower the target (${shardCount.toLocaleString('en-US')} shards now)`,
    });
  }
  if (maxRounds === undefined) return;
  const largest = maxShardSize(maxRounds);
  if (spec.shardSize > largest) {
    ctx.addIssue({
      code: 'custom',
      path: [paths.shardSize],
      message: `at most ${largest} with filter.maxRounds = ${maxRounds} (sample numbers have 6 digits and each deficit round reserves ${ROUND_CAPACITY_FACTOR} x shardSize of them)`,
    });
  }
}

const SpecInputObject = z.strictObject(
  {
    runId: RunIdSchema,
    seed: SeedSchema,
    target: TargetSchema,
    shardSize: ShardSizeSchema,
    classes: ClassesInputSchema,
    image: ImageSchema,
    generator: GeneratorSchema,
    calibrator: CalibratorSchema,
    filter: FilterSchema,
    output: OutputUrlSchema,
  },
  mapping('run spec fields (runId, target, output, ...)'),
);

/** The run spec file as a user writes it (YAML or JSON). Unknown keys are errors. */
export const SpecInputSchema = SpecInputObject.superRefine((input, ctx) =>
  checkKeySpace({ ...input, targetSamples: input.target }, ctx, { target: 'target', shardSize: 'shardSize' }),
).transform((input) => ({
  specVersion: SPEC_VERSION as typeof SPEC_VERSION,
  runId: input.runId,
  seed: input.seed,
  targetSamples: input.target,
  shardSize: input.shardSize,
  shardCount: Math.ceil(input.target / input.shardSize),
  classes: input.classes,
  image: input.image,
  generator: input.generator,
  calibrator: input.calibrator,
  filter: input.filter,
  output: input.output,
}));

/**
 * The resolved spec: every default filled, the target resolved to a sample count and a shard
 * count. This is what spec.json holds and what every later stage reads.
 */
export const SpecSchema = z
  .strictObject({
    specVersion: z.literal(SPEC_VERSION),
    runId: RunIdSchema,
    seed: SeedSchema,
    targetSamples: z.number().int().positive(),
    shardSize: ShardSizeSchema,
    shardCount: z.number().int().positive(),
    classes: z
      .array(ClassWeightSchema)
      .min(1)
      .refine(
        (classes) =>
          classes.every(
            (c, i) => AFFECTNET_CLASSES[c.index] === c.name && (i === 0 || classes[i - 1]!.index < c.index),
          ),
        { error: 'classes in AffectNet index order, each once, with matching index' },
      ),
    image: ImageSchema,
    generator: GeneratorSchema,
    calibrator: CalibratorSchema,
    filter: FilterSchema,
    output: z.string().refine((url) => normalizeOutputUrl(url) === url, { error: OUTPUT_EXPECTED }),
  })
  .superRefine((spec, ctx) => {
    if (spec.shardCount !== Math.ceil(spec.targetSamples / spec.shardSize)) {
      ctx.addIssue({ code: 'custom', path: ['shardCount'], message: 'ceil(targetSamples / shardSize)' });
    }
    checkKeySpace(spec, ctx, { target: 'targetSamples', shardSize: 'shardSize' });
  });

export type Spec = z.infer<typeof SpecSchema>;

/**
 * The keys a spec may hold at `path` (for "did you mean" hints on unknown keys); the generator's
 * depend on the backend chosen in `root`.
 */
export function knownKeysAt(path: readonly PropertyKey[], root: unknown): readonly string[] | undefined {
  if (path.length === 0) return Object.keys(SpecInputObject.shape);
  if (path.length !== 1) return undefined;
  switch (path[0]) {
    case 'image':
      return Object.keys(ImageObject.shape);
    case 'calibrator':
      return Object.keys(CalibratorObject.shape);
    case 'filter':
      return Object.keys(FilterObject.shape);
    case 'classes':
      return AFFECTNET_CLASSES;
    case 'generator': {
      const section = (root as { generator?: unknown } | null)?.generator;
      const backend =
        typeof section === 'string'
          ? section
          : ((section as { backend?: unknown } | null)?.backend ?? DEFAULT_GENERATOR_BACKEND);
      const variant = GeneratorVariants.find((v) => v.shape.backend.value === backend);
      return variant ? Object.keys(variant.shape) : undefined;
    }
    default:
      return undefined;
  }
}

/** Backends whose generator settings include `key` (to explain a key set for the wrong backend). */
export function generatorBackendsWithKey(key: string): string[] {
  return GeneratorVariants.filter((v) => key !== 'backend' && key in v.shape).map(
    (v) => v.shape.backend.value,
  );
}
