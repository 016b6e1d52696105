import type { Calibration } from '../models/calibrator/schema';
import { CalibrationSchema } from '../models/calibrator/schema';
import type { GeneratedImage } from '../models/generator';
import { type SampleRequest, SampleRequestSchema } from '../plan/request';
import { readSamples, type Sample, writeTar } from '../webdataset';

/**
 * Staged parts: one generated batch is a small tar (image, request and generator facts per
 * key, so later stages never re-plan), its labels one JSON array. Both are written whole with a single put, so a part either exists
 * complete or not at all — which is what lets a retried stage trust "exists" as "done".
 */
export interface StagedImage {
  key: string;
  bytes: Uint8Array;
  format: 'jpg' | 'png';
  width: number;
  height: number;
  generator: { id: string; version: string; meta: Record<string, unknown> };
  request: SampleRequest;
}

export async function packGeneratedPart(
  images: readonly GeneratedImage[],
  requests: readonly SampleRequest[],
  generator: { id: string; version: string },
): Promise<Uint8Array> {
  const samples: Sample[] = images.map((img, i) => ({
    __key__: img.key,
    'req.json': JSON.stringify(requests[i]),
    [img.format]: img.bytes,
    'gen.json': JSON.stringify({
      format: img.format,
      width: img.width,
      height: img.height,
      generator: { id: generator.id, version: generator.version, meta: img.meta },
    }),
  }));
  const chunks: Uint8Array[] = [];
  for await (const chunk of writeTar(samples)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function unpackGeneratedPart(bytes: Uint8Array, name: string): Promise<StagedImage[]> {
  const out: StagedImage[] = [];
  for await (const sample of readSamples([bytes], { name })) {
    const facts = JSON.parse(Buffer.from(sample['gen.json'] as Uint8Array).toString('utf8'));
    out.push({
      key: sample.__key__,
      bytes: sample[facts.format] as Uint8Array,
      format: facts.format,
      width: facts.width,
      height: facts.height,
      generator: facts.generator,
      request: SampleRequestSchema.parse(
        JSON.parse(Buffer.from(sample['req.json'] as Uint8Array).toString('utf8')),
      ),
    });
  }
  return out;
}

export function packLabels(calibrations: readonly Calibration[]): string {
  return JSON.stringify(calibrations);
}

export function unpackLabels(bytes: Uint8Array): Calibration[] {
  const parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  return CalibrationSchema.array().parse(parsed);
}
