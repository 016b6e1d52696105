export { decodeRgb, type RawImage } from './decode';
export { decodeRgbJpeg, jpegHeader, jpegWasmStats, loadJpegDecoder, WASM_MAX_PIXELS } from './jpeg-wasm';
export { luma } from './luma';
export { type PixelRect, resizeCubic } from './resample';
