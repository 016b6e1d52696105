import { mkdtempSync, rmSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type FileObjectStore, ObjectNotFoundError, openStore } from '../storage';
import { withPartCache } from '../storage/part-cache';

const dir = mkdtempSync(path.join(tmpdir(), 'synfarm-part-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stores() {
  const inner = openStore(pathToFileURL(path.join(dir, String(Math.random()))).href) as FileObjectStore;
  const cached = withPartCache(inner, { maxBytes: 100, cacheable: (k) => k.startsWith('run/staging/') });
  // Removes the stored file behind the cache's back: what is read afterwards came from memory.
  const vanish = (key: string) => unlink(path.join(inner.root, key));
  return { inner, cached, vanish };
}

const text = (b: Uint8Array) => Buffer.from(b).toString();

describe('withPartCache', () => {
  it('reads back what this process wrote without asking storage, and writes through first', async () => {
    const { inner, cached, vanish } = stores();
    await cached.put('run/staging/a', 'part a');
    await cached.putStream('run/staging/b', Readable.from([Buffer.from('part '), Buffer.from('b')]));
    expect(text(await inner.get('run/staging/a'))).toBe('part a');
    await vanish('run/staging/a');
    await vanish('run/staging/b');
    expect(text(await cached.get('run/staging/a'))).toBe('part a');
    const stream = await cached.getStream('run/staging/b', { start: 2, end: 3 });
    expect(Buffer.concat(await stream.toArray()).toString()).toBe('rt');
  });

  it('keeps only cacheable keys and stays within its byte budget, least recently used out first', async () => {
    const { cached, vanish } = stores();
    await cached.put('run/spec.json', 'not cached');
    await cached.put('run/staging/1', 'x'.repeat(60));
    await cached.put('run/staging/2', 'y'.repeat(30));
    await cached.get('run/staging/1'); // 1 is now the most recent
    await cached.put('run/staging/3', 'z'.repeat(30)); // 120 > 100 bytes: 2 goes
    for (const key of ['run/spec.json', 'run/staging/1', 'run/staging/2', 'run/staging/3']) await vanish(key);
    await expect(cached.get('run/spec.json')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(cached.get('run/staging/2')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(text(await cached.get('run/staging/1'))).toHaveLength(60);
    expect(text(await cached.get('run/staging/3'))).toHaveLength(30);
  });

  it('forgets deleted keys, and remembers nothing of a write that failed', async () => {
    const { cached } = stores();
    await cached.put('run/staging/d', 'gone soon');
    await cached.deletePrefix('run/staging/');
    await expect(cached.get('run/staging/d')).rejects.toBeInstanceOf(ObjectNotFoundError);
    async function* failing() {
      yield Buffer.from('half');
      throw new Error('generator died');
    }
    await expect(cached.putStream('run/staging/e', failing())).rejects.toThrow('generator died');
    await expect(cached.get('run/staging/e')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });
});
