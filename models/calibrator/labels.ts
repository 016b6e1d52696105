import { AFFECTNET_CLASSES, type ExpressionClass } from '../../plan/expressions';

/** face-api's FaceExpressionNet output order (src/faceExpressionNet/FaceExpressions.ts). */
export const FACE_API_EXPRESSIONS = [
  'neutral',
  'happy',
  'sad',
  'angry',
  'fearful',
  'disgusted',
  'surprised',
] as const;

/**
 * human-models' emotion.json (oarriaga mini-Xception, FER2013, 64x64 grayscale input) output
 * order, as @vladmandic/human src/gear/emotion.ts names it for single-channel models.
 */
export const HUMAN_EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;

export const FACE_API_TO_AFFECTNET: Record<(typeof FACE_API_EXPRESSIONS)[number], ExpressionClass> = {
  neutral: 'neutral',
  happy: 'happy',
  sad: 'sad',
  angry: 'anger',
  fearful: 'fear',
  disgusted: 'disgust',
  surprised: 'surprise',
};

export const HUMAN_TO_AFFECTNET: Record<(typeof HUMAN_EMOTIONS)[number], ExpressionClass> = {
  angry: 'anger',
  disgust: 'disgust',
  fear: 'fear',
  happy: 'happy',
  sad: 'sad',
  surprise: 'surprise',
  neutral: 'neutral',
};

export const CONTEMPT_INDEX = AFFECTNET_CLASSES.indexOf('contempt');

/**
 * Re-orders a model's probabilities onto AffectNet's 8 classes. Neither shipped model was trained
 * with contempt, so its slot is 0 here: a model must not be credited with evidence it cannot
 * produce. Contempt enters the ensemble from the landmark asymmetry instead (see policy.ts).
 * The result is renormalised so it sums to 1 even if the model's softmax drifted.
 */
export function toAffectNet<L extends string>(
  probs: ArrayLike<number>,
  labels: readonly L[],
  mapping: Record<L, ExpressionClass>,
): number[] {
  if (probs.length !== labels.length) {
    throw new RangeError(`expected ${labels.length} probabilities, got ${probs.length}`);
  }
  const out = new Array<number>(AFFECTNET_CLASSES.length).fill(0);
  labels.forEach((label, i) => {
    const target = AFFECTNET_CLASSES.indexOf(mapping[label]);
    out[target] = (out[target] ?? 0) + Math.max(0, probs[i] ?? 0);
  });
  return normalise(out);
}

export function normalise(v: readonly number[]): number[] {
  const sum = v.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) return v.map(() => 1 / v.length);
  return v.map((x) => x / sum);
}
