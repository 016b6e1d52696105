import type { Sharp } from 'sharp';
import type { GenerateOptions } from './generator';

/**
 * How every generator encodes its output, in one place: PNG at one compression level, JPEG at
 * the spec's quality with 4:2:0 chroma, so backends differ only in what they draw.
 */
export async function encodeImage(
  img: Sharp,
  options: Pick<GenerateOptions, 'format' | 'quality'>,
): Promise<Uint8Array> {
  const bytes =
    options.format === 'png'
      ? await img.png({ compressionLevel: 6 }).toBuffer()
      : await img.jpeg({ quality: options.quality, chromaSubsampling: '4:2:0' }).toBuffer();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
