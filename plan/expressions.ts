/**
 * AffectNet's expression classes in its own index order (the `.cls` value of every sample),
 * and the EMFACS prototype AUs for each (Ekman & Friesen; see ../shared/SYNFER.md).
 */
export const AFFECTNET_CLASSES = [
  'neutral',
  'happy',
  'sad',
  'surprise',
  'fear',
  'disgust',
  'anger',
  'contempt',
] as const;
export type ExpressionClass = (typeof AFFECTNET_CLASSES)[number];

/**
 * AffectNet's manually annotated training set: 287,651 images (Mollahosseini et al., 2017,
 * "AffectNet: A Database for Facial Expression, Valence, and Arousal Computing in the Wild";
 * the SynFER paper rounds it to ~280K). "Nx affectnet" targets are multiples of this.
 */
export const AFFECTNET_TRAIN_SIZE = 287_651;

/** The AUs synfarm plans and renders, in the fixed order used wherever a dense vector is needed. */
export const AU_IDS = [
  'AU1',
  'AU2',
  'AU4',
  'AU5',
  'AU6',
  'AU7',
  'AU9',
  'AU10',
  'AU12',
  'AU14',
  'AU15',
  'AU16',
  'AU17',
  'AU20',
  'AU23',
  'AU25',
  'AU26',
  'AU43',
] as const;
export type AuId = (typeof AU_IDS)[number];

/** AUs that may be requested on one side of the face only (contempt is AU12 + AU14, unilateral). */
export const UNILATERAL_AUS = ['AU12', 'AU14'] as const satisfies readonly AuId[];

/** FACS intensity scale A..E mapped to 1..5; 0 means absent. */
export const AU_MAX_INTENSITY = 5;

export const EMFACS_PROTOTYPES: Record<ExpressionClass, readonly AuId[]> = {
  neutral: [],
  happy: ['AU6', 'AU12'],
  sad: ['AU1', 'AU4', 'AU15'],
  surprise: ['AU1', 'AU2', 'AU5', 'AU26'],
  fear: ['AU1', 'AU2', 'AU4', 'AU5', 'AU7', 'AU20', 'AU26'],
  // EMFACS codes disgust as AU9 or AU10 with 15/16/17/25/26 around them; 9+10 (nose wrinkle and
  // raised upper lip) is the core both carry, the rest are companions (plan/aus.ts).
  disgust: ['AU9', 'AU10'],
  anger: ['AU4', 'AU5', 'AU7', 'AU23'],
  contempt: ['AU12', 'AU14'],
};

export function classIndex(name: ExpressionClass): number {
  return AFFECTNET_CLASSES.indexOf(name);
}

/** A table with one entry per class, computed once (e.g. per-class lookups for planning's hot loop). */
export function byClass<T>(entry: (name: ExpressionClass) => T): Record<ExpressionClass, T> {
  return Object.fromEntries(AFFECTNET_CLASSES.map((name) => [name, entry(name)])) as Record<
    ExpressionClass,
    T
  >;
}
