import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import decode, { init } from '@jsquash/jpeg/decode.js';
import type { RawImage } from './decode';

/**
 * Baseline and progressive JPEG decoding with mozjpeg built to WebAssembly. sharp decodes with the
 * same mozjpeg, to the same pixels, but spends about 1 ms per call before it decodes anything, so a
 * shard's 112-224 px faces decoded 2-5x faster here. Only 3-component (YCbCr or RGB) JPEGs
 * without an ICC profile, the ones synfarm writes, come this way: sharp turns CMYK and profiled
 * images into sRGB through a colour profile, which libjpeg cannot, and a consumer must get the
 * same pixels whichever decoder ran.
 */

let ready: Promise<void> | undefined;

function load(): Promise<void> {
  ready ??= (async () => {
    const wasm = createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');
    const bytes = await readFile(wasm);
    await init({
      // The binary from node_modules: the module would otherwise fetch it next to its script.
      wasmBinary: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      // libjpeg's warnings would go to stderr; a failed decode throws instead, with the reason.
      print: () => {},
      printErr: () => {},
    });
  })();
  return ready;
}

/**
 * What the wasm decoder needs to know of a JPEG's header: the frame's component count (SOFn) and
 * whether an ICC profile is embedded (APP2 "ICC_PROFILE"), which sharp applies on the way to sRGB.
 */
export function jpegHeader(bytes: Uint8Array): { components?: number; icc: boolean } {
  let icc = false;
  let at = 2; // after SOI
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) break;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (marker === 0xe2 && String.fromCharCode(...bytes.subarray(at + 4, at + 15)) === 'ICC_PROFILE')
      icc = true;
    // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC): byte 9 of the segment is Nf.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { components: bytes[at + 9], icc };
    }
    if (marker === 0xda || marker === 0xd9) break; // scan or end before a frame header
    at += 2 + length;
  }
  return { icc };
}

/**
 * RGB pixels of a 3-component JPEG without an ICC profile (ICC profiles come before the frame
 * header); undefined for any other, which sharp then decodes.
 */
export async function decodeRgbJpeg(bytes: Uint8Array): Promise<RawImage | undefined> {
  const header = jpegHeader(bytes);
  if (header.components !== 3 || header.icc) return undefined;
  await load();
  const copy = bytes.slice(); // the decoder takes an ArrayBuffer of the JPEG alone
  const rgba = await decode(copy.buffer);
  const pixels = rgba.width * rgba.height;
  const data = new Uint8Array(pixels * 3);
  const src = rgba.data;
  for (let p = 0, s = 0, d = 0; p < pixels; p++, s += 4, d += 3) {
    data[d] = src[s]!;
    data[d + 1] = src[s + 1]!;
    data[d + 2] = src[s + 2]!;
  }
  return { data, width: rgba.width, height: rgba.height, channels: 3 };
}
