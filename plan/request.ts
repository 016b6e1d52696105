import { z } from 'zod';
import { AFFECTNET_CLASSES, AU_IDS, AU_MAX_INTENSITY } from './expressions';

/**
 * One planned sample: everything a generator needs, derived purely from
 * (run seed, shard index, sample index, round). It is stored in the sample's `.json`
 * and is small enough to recompute anywhere, so it never has to ride in a Temporal payload.
 */
export const AuVectorSchema = z.partialRecord(z.enum(AU_IDS), z.number().min(0).max(AU_MAX_INTENSITY));
export type AuVector = z.infer<typeof AuVectorSchema>;

/** The skin-tone scale identities use: Fitzpatrick-like, 1 (lightest) .. 6 (darkest). */
export const SKIN_TONES = [1, 2, 3, 4, 5, 6] as const;

/** A skin tone's position in SKIN_TONES (for per-tone tallies), or -1 off the scale. */
export function skinToneIndex(skinTone: number): number {
  return SKIN_TONES.indexOf(skinTone as (typeof SKIN_TONES)[number]);
}

export const IdentitySchema = z.object({
  ageBand: z.enum(['young adult', 'adult', 'middle-aged', 'elderly']),
  gender: z.enum(['feminine', 'masculine', 'androgynous']),
  /** Fitzpatrick-like scale, 1 (lightest) .. 6 (darkest): SKIN_TONES. */
  skinTone: z
    .number()
    .int()
    .min(SKIN_TONES[0])
    .max(SKIN_TONES[SKIN_TONES.length - 1]!),
  faceShape: z.enum(['oval', 'round', 'square', 'heart', 'long']),
  hair: z.enum(['short dark', 'short light', 'long dark', 'long light', 'curly', 'bald', 'gray']),
  eyeColor: z.enum(['brown', 'blue', 'green', 'hazel', 'gray']),
  glasses: z.boolean(),
  facialHair: z.enum(['none', 'stubble', 'beard', 'moustache']),
  /** Degrees; small so the face stays frontal enough for FER models. */
  headPose: z.object({ yaw: z.number(), pitch: z.number(), roll: z.number() }),
  lighting: z.object({
    direction: z.enum(['front', 'left', 'right', 'top']),
    strength: z.number().min(0).max(1),
    warmth: z.enum(['neutral', 'warm', 'cool']),
  }),
  background: z.enum(['studio gray', 'white wall', 'office', 'outdoor park', 'dark backdrop', 'living room']),
});
export type Identity = z.infer<typeof IdentitySchema>;

/**
 * Steering for a generator that runs elsewhere (`http`): set on deficit-round requests when the
 * calibrator kept misreading this class, so the server can push harder toward it (SynFER's
 * semantic guidance is the natural consumer). Backends that render AUs here get the AU
 * changes applied instead and never see this field.
 */
export const SteeringSchema = z.object({
  targetClass: z.enum(AFFECTNET_CLASSES),
  avoidClass: z.enum(AFFECTNET_CLASSES).nullable(),
  gain: z.number().positive(),
  emphasise: z.array(z.enum(AU_IDS)),
  suppress: z.array(z.enum(AU_IDS)),
});
export type Steering = z.infer<typeof SteeringSchema>;

export const SampleRequestSchema = z.object({
  /** WebDataset key `<shard:06d>_<index:06d>`; no dots. */
  key: z.string().regex(/^[0-9]{6}_[0-9]{6}$/),
  shard: z.number().int().min(0),
  index: z.number().int().min(0),
  round: z.number().int().min(0),
  classIndex: z
    .number()
    .int()
    .min(0)
    .max(AFFECTNET_CLASSES.length - 1),
  className: z.enum(AFFECTNET_CLASSES),
  aus: AuVectorSchema,
  /** For unilateral AUs (contempt): which side of the face shows them. */
  auSide: z.partialRecord(z.enum(AU_IDS), z.enum(['left', 'right'])),
  identity: IdentitySchema,
  prompt: z.string(),
  /** uint32 seed for the generator backend; generators must be deterministic given it. */
  generatorSeed: z.number().int().min(0).max(0xffffffff),
  steering: SteeringSchema.optional(),
});
export type SampleRequest = z.infer<typeof SampleRequestSchema>;
