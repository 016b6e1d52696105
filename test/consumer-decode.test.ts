import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeCls, decodeSamples, openRun, readRun, syntheticImages, writeSyntheticRun } from '../consumer';
import { openStore } from '../storage';

describe('decodeSamples', () => {
  it('decodes every sample with several in flight and keeps the reader order', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-decode-'));
    const store = openStore(pathToFileURL(dir).href);
    await writeSyntheticRun(store, 'dec', [7, 5], { images: await syntheticImages(3, 48) });
    const run = await openRun(store.url, 'dec');
    const plain: string[] = [];
    for await (const s of readRun({ run, seed: 3 })) plain.push(s.__key__);

    const decoded: string[] = [];
    for await (const d of decodeSamples(readRun({ run, seed: 3 }), { concurrency: 4 })) {
      decoded.push(d.sample.__key__);
      expect([d.image.width, d.image.height, d.image.channels]).toEqual([48, 48, 3]);
      expect(d.image.data.length).toBe(48 * 48 * 3);
      expect(d.cls).toBe(decodeCls(d.sample));
      expect(d.json).toBeTypeOf('object');
    }
    expect(decoded).toEqual(plain);
    expect(decoded).toHaveLength(12);
  });
});
