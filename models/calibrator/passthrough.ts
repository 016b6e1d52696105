import type { SampleRequest } from '../../plan/request';
import { matchRequests } from './match';
import type { Calibration, CalibrationImage, Calibrator } from './schema';

/**
 * Labels every sample with its intended class at confidence 1 without looking at the image.
 * For load tests of the farm only: its labels carry no information and it says so in its id.
 */
export function createPassthroughCalibrator(): Calibrator {
  const id = 'passthrough-intended-label';
  const version = '1';
  return {
    id,
    version,
    async calibrate(images: readonly CalibrationImage[], requests: readonly SampleRequest[]) {
      return matchRequests(images, requests).map(({ image, request }): Calibration => {
        const onehot = Array.from({ length: 8 }, (_, i) => (i === request.classIndex ? 1 : 0));
        return {
          key: image.key,
          calibrator: { id, version, backend: null },
          intended: { classIndex: request.classIndex, className: request.className },
          models: {},
          ensemble: null,
          softLabel: onehot,
          classIndex: request.classIndex,
          className: request.className,
          confidence: 1,
          agrees: true,
          aus: { requested: request.aus, measured: null, lipCornerAsymmetry: null, asymmetricSide: null },
          face: null,
          error: null,
        };
      });
    },
    dispose() {},
  };
}
