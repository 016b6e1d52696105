import { z } from 'zod';
import { AU_IDS } from '../../plan/expressions';
import { TfjsGeneratorError } from './errors';
import { partLength } from './inputs';

/**
 * The sidecar descriptor: how to feed a user's model and read its image. One schema; the README
 * documents every field. Without a descriptor the model must follow the default signature.
 */

const AusPart = z.strictObject({
  kind: z.literal('aus'),
  /** AU ids in the order the model expects; length = vector length. */
  order: z
    .array(z.enum(AU_IDS))
    .min(1)
    .refine((ids) => new Set(ids).size === ids.length, { error: 'each AU listed once' })
    .default([...AU_IDS]),
  /** 'unit': intensity / 5 (0..1); 'facs': the FACS 0..5 value as planned. */
  scale: z.enum(['unit', 'facs']).default('unit'),
});

const ClassPart = z.strictObject({ kind: z.literal('class') });

const NoisePart = z.strictObject({
  kind: z.literal('noise'),
  /** Per-sample shape, without the batch dimension. */
  shape: z.array(z.int().min(1)).min(1),
  distribution: z.enum(['normal', 'uniform']).default('normal'),
});

const TextPart = z.strictObject({
  kind: z.literal('text'),
  /** Length of the built-in hashing embedding of the prompt. */
  dim: z.int().min(8).max(4096).default(64),
});

const InputPartSchema = z.discriminatedUnion('kind', [AusPart, ClassPart, NoisePart, TextPart]);
export type InputPart = z.infer<typeof InputPartSchema>;

/** `{name, kind, ...}` is shorthand for an input of one part: `{name, parts: [{kind, ...}]}`. */
const InputSchema = z.preprocess(
  (value) => {
    if (value && typeof value === 'object' && !Array.isArray(value) && 'kind' in value) {
      const { name, ...part } = value as Record<string, unknown>;
      return { name, parts: [part] };
    }
    return value;
  },
  z
    .strictObject({
      /** The model's input name (layers: the input layer's name; graph: the placeholder's). */
      name: z.string().min(1),
      /** Concatenated along the feature axis; more than one part requires each to be a vector. */
      parts: z.array(InputPartSchema).min(1),
    })
    .refine(
      (input) =>
        input.parts.length === 1 || input.parts.every((p) => p.kind !== 'noise' || p.shape.length === 1),
      {
        error: 'a concatenated input may only hold vector parts (noise shape of one dimension)',
      },
    ),
);
export type DescriptorInput = z.infer<typeof InputSchema>;

export const VALUE_RANGES = ['[-1,1]', '[0,1]', '[0,255]'] as const;
export type ValueRange = (typeof VALUE_RANGES)[number];

const OutputSchema = z.strictObject({
  /** Defaults to the model's only output. */
  name: z.string().min(1).optional(),
  layout: z
    .literal('NHWC', { error: 'only NHWC (batch, height, width, channels) images are supported' })
    .default('NHWC'),
  range: z.enum(VALUE_RANGES).default('[-1,1]'),
  /** Square side of the model's image; defaults to what the model's output shape says. */
  size: z.int().min(1).max(4096).optional(),
});

export const DescriptorSchema = z
  .strictObject({
    descriptorVersion: z.literal(1).default(1),
    /** Recorded as the generator id/version; the version defaults to a hash of the model files. */
    id: z.string().min(1).optional(),
    version: z.string().min(1).optional(),
    inputs: z.array(InputSchema).min(1),
    output: OutputSchema.prefault({}),
  })
  .refine((d) => new Set(d.inputs.map((i) => i.name)).size === d.inputs.length, {
    error: 'each input name listed once',
  });
export type Descriptor = z.infer<typeof DescriptorSchema>;

/** What a loaded model declares; a dim of null or -1 is unknown (any size). */
export interface TensorSpec {
  name: string;
  shape?: readonly (number | null)[];
  dtype?: string;
}
export interface ModelSignature {
  format: 'layers-model' | 'graph-model';
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
}

/** A descriptor checked against its model: every name resolved, every size known. */
export interface ResolvedDescriptor {
  id?: string;
  version?: string;
  inputs: readonly { name: string; modelName: string; parts: readonly InputPart[]; shape: number[] }[];
  output: { name: string; range: ValueRange; size: number; channels: 3 };
}

export const DEFAULT_INPUT_NAMES = ['aus', 'class', 'noise', 'text'] as const;

export function parseDescriptor(json: unknown, field: string): Descriptor {
  const parsed = DescriptorSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  throw new TfjsGeneratorError(
    'descriptor-mismatch',
    field,
    `the descriptor is not valid (${issues}); see models/tfjs-generator/README.md for its fields`,
  );
}

/** Graph placeholders are often reported as `name:0`; descriptors may use either form. */
function baseName(name: string): string {
  return name.replace(/:0$/, '');
}

function known(dim: number | null | undefined): dim is number {
  return typeof dim === 'number' && dim >= 0;
}

function describeShape(shape: readonly (number | null)[] | undefined): string {
  return shape ? `[${shape.map((d) => (known(d) ? d : '?')).join(', ')}]` : '(unknown)';
}

/**
 * The default signature for models shipped without a descriptor: inputs named from
 * DEFAULT_INPUT_NAMES, noise and text sizes read off the model's own input shapes.
 */
export function defaultDescriptor(signature: ModelSignature, field: string): Descriptor {
  const inputs = signature.inputs.map((input): DescriptorInput => {
    const name = baseName(input.name);
    const rest = (input.shape ?? []).slice(1);
    const fullyKnown = input.shape !== undefined && rest.length > 0 && rest.every(known);
    switch (name) {
      case 'aus':
        return { name: input.name, parts: [{ kind: 'aus', order: [...AU_IDS], scale: 'unit' }] };
      case 'class':
        return { name: input.name, parts: [{ kind: 'class' }] };
      case 'noise':
      case 'text':
        if (!fullyKnown) {
          throw new TfjsGeneratorError(
            'descriptor-mismatch',
            field,
            `the model's input "${input.name}" has shape ${describeShape(input.shape)}, so its size cannot be ` +
              'inferred; write a descriptor giving it and set generator.descriptorUrl',
          );
        }
        return name === 'noise'
          ? { name: input.name, parts: [{ kind: 'noise', shape: rest as number[], distribution: 'normal' }] }
          : { name: input.name, parts: [{ kind: 'text', dim: rest.reduce((a, b) => a * (b as number), 1) }] };
      default:
        throw new TfjsGeneratorError(
          'descriptor-mismatch',
          field,
          `the model has an input "${input.name}", which is not in the default signature ` +
            `(${DEFAULT_INPUT_NAMES.join(', ')}); write a descriptor naming its inputs and set generator.descriptorUrl`,
        );
    }
  });
  return { descriptorVersion: 1, inputs, output: { layout: 'NHWC', range: '[-1,1]' } };
}

function partShape(parts: readonly InputPart[]): number[] {
  const only = parts[0];
  if (parts.length === 1 && only?.kind === 'noise') return [...only.shape];
  return [parts.reduce((sum, p) => sum + partLength(p), 0)];
}

/**
 * Checks a descriptor against the model before anything runs: every model input fed, every fed
 * name an input, per-sample shapes equal, and an image-shaped output. `field` is the spec field
 * the user should fix (the descriptor's, or the model's when the default signature applies).
 */
export function resolveDescriptor(
  descriptor: Descriptor,
  signature: ModelSignature,
  field: string,
): ResolvedDescriptor {
  const mismatch = (message: string) => new TfjsGeneratorError('descriptor-mismatch', field, message);
  const modelNames = signature.inputs.map((i) => i.name).join(', ');
  const inputs = descriptor.inputs.map((input) => {
    const model = signature.inputs.find(
      (m) => m.name === input.name || baseName(m.name) === baseName(input.name),
    );
    if (!model) {
      throw mismatch(
        `the descriptor names an input "${input.name}" but the model's inputs are ${modelNames}`,
      );
    }
    if (model.dtype && model.dtype !== 'float32') {
      throw mismatch(`the model's input "${model.name}" is ${model.dtype}; synfarm feeds float32 inputs`);
    }
    const shape = partShape(input.parts);
    const modelShape = model.shape;
    if (modelShape) {
      const rest = modelShape.slice(1);
      const fits = rest.length === shape.length && rest.every((d, i) => !known(d) || d === shape[i]);
      if (!fits) {
        throw mismatch(
          `the descriptor feeds input "${input.name}" per-sample shape [${shape.join(', ')}] but the model ` +
            `expects ${describeShape(modelShape)} (batch first); fix the descriptor's parts or export the model to match`,
        );
      }
    }
    return { name: input.name, modelName: model.name, parts: input.parts, shape };
  });
  const unfed = signature.inputs.filter((m) => !inputs.some((i) => i.modelName === m.name));
  if (unfed.length > 0) {
    throw mismatch(
      `the model's input(s) ${unfed.map((m) => `"${m.name}"`).join(', ')} are not in the descriptor; describe every input`,
    );
  }

  const outName = descriptor.output.name;
  const output = outName
    ? signature.outputs.find((o) => o.name === outName || baseName(o.name) === baseName(outName))
    : signature.outputs.length === 1
      ? signature.outputs[0]
      : undefined;
  if (!output) {
    throw mismatch(
      outName
        ? `the descriptor names output "${outName}" but the model's outputs are ${signature.outputs.map((o) => o.name).join(', ')}`
        : `the model has ${signature.outputs.length} outputs; name the image one in the descriptor's output.name`,
    );
  }
  const shape = output.shape;
  const h = shape?.[1];
  const w = shape?.[2];
  if (shape && (shape.length !== 4 || (known(shape[3]) && shape[3] !== 3))) {
    throw mismatch(
      `output "${output.name}" has shape ${describeShape(shape)}; expected an NHWC RGB image [batch, size, size, 3]`,
    );
  }
  if (known(h) && known(w) && h !== w) {
    throw mismatch(`output "${output.name}" is ${h}x${w}; only square images are supported`);
  }
  const size = descriptor.output.size ?? (known(h) ? h : undefined);
  if (size === undefined) {
    throw mismatch(
      `output "${output.name}" has shape ${describeShape(shape)}; give its size in the descriptor's output.size`,
    );
  }
  if (known(h) && h !== size) {
    throw mismatch(
      `the descriptor says output size ${size} but the model's output "${output.name}" is ${h}x${h}`,
    );
  }
  return {
    id: descriptor.id,
    version: descriptor.version,
    inputs,
    output: { name: output.name, range: descriptor.output.range, size, channels: 3 },
  };
}
