import type { SampleRequest } from '../../plan/request';
import type { CalibrationImage } from './schema';

/** The caller passed images and requests that do not describe the same samples. */
export class CalibrationInputError extends Error {
  override readonly name = 'CalibrationInputError';
  readonly code = 'calibration-input-mismatch';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

/** Pairs each image with its request by key, keeping the images' order. */
export function matchRequests(
  images: readonly CalibrationImage[],
  requests: readonly SampleRequest[],
): { image: CalibrationImage; request: SampleRequest }[] {
  const byKey = new Map(requests.map((r) => [r.key, r]));
  return images.map((image) => {
    const request = byKey.get(image.key);
    if (!request) {
      throw new CalibrationInputError(
        image.key,
        `image ${image.key} has no planned request; pass the requests of the same part as its images`,
      );
    }
    return { image, request };
  });
}
