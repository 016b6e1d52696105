import { createHash, randomUUID } from 'node:crypto';
import {
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
} from 'node:fs/promises';
import { dirname, isAbsolute, join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { abortable } from './abortable';
import { InvalidRangeError, KeyConflictError, ObjectNotFoundError, StoreOptionError } from './errors';
import { assertValidKey, assertValidPrefix, assertValidRange, compareKeys, TEMP_DIR } from './keys';
import type { ObjectInfo, ObjectStore } from './object-store';

type Body = Uint8Array | string;

/** A putIfMatch lock held this long is a crashed writer's; its write takes milliseconds. */
const LOCK_STALE_MS = 10_000;

/**
 * An object store in a local folder, with the same keys and guarantees as S3: every write goes to a
 * temp file under `<root>/.synfarm-tmp/` (never listed) and is renamed into place, so a reader sees
 * either no object or the whole object; rename within one filesystem is atomic.
 */
export class FileObjectStore implements ObjectStore {
  readonly url: string;
  readonly root: string;

  /** `root` must be an absolute path; it is created on the first write. */
  constructor(root: string) {
    if (!isAbsolute(root)) throw new StoreOptionError('root', `"${root}" is not an absolute path`);
    this.root = root.length > 1 && root.endsWith(sep) ? root.slice(0, -1) : root;
    this.url = pathToFileURL(this.root).href;
  }

  async put(key: string, body: Body): Promise<void> {
    await this.#writeAtomically(key, 'replace', (file) => file.writeFile(body));
  }

  async putStream(
    key: string,
    body: Readable | AsyncIterable<Uint8Array>,
    options?: { signal?: AbortSignal },
  ): Promise<{ bytes: number }> {
    let bytes = 0;
    await this.#writeAtomically(key, 'replace', async (file) => {
      options?.signal?.throwIfAborted();
      for await (const chunk of abortable(body, options?.signal)) {
        const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        bytes += data.byteLength;
        // writeFile on a handle writes all of `data` at the current position (write() may write less).
        await file.writeFile(data);
      }
    });
    return { bytes };
  }

  async putIfAbsent(key: string, body: Body): Promise<boolean> {
    return this.#writeAtomically(key, 'no-replace', (file) => file.writeFile(body));
  }

  /**
   * The compare and the rename happen under a per-key lock file (created with O_EXCL, so it also
   * orders writers in other processes); a lock older than LOCK_STALE_MS is from a crashed writer.
   */
  async putIfMatch(key: string, body: Body, etag: string | null): Promise<boolean> {
    assertValidKey(key);
    const release = await this.#lock(key);
    try {
      const current = await this.getVersioned(key).catch((error) => {
        if (error instanceof ObjectNotFoundError) return undefined;
        throw error;
      });
      if ((current?.etag ?? null) !== etag) return false;
      return await this.#writeAtomically(key, etag === null ? 'no-replace' : 'replace', (file) =>
        file.writeFile(body),
      );
    } finally {
      await release();
    }
  }

  /** The version tag is the content's hash: equal bytes, equal tag (as S3's ETag for a plain put). */
  async getVersioned(key: string): Promise<{ body: Uint8Array; etag: string }> {
    const body = await this.get(key);
    return { body, etag: `"${createHash('sha256').update(body).digest('hex')}"` };
  }

  async #lock(key: string): Promise<() => Promise<void>> {
    const tempDir = join(this.root, TEMP_DIR);
    await mkdir(tempDir, { recursive: true });
    const path = join(tempDir, `.lock-${createHash('sha256').update(key).digest('hex')}`);
    for (let attempt = 1; ; attempt++) {
      try {
        await (await open(path, 'wx')).close();
        return () => rm(path, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = await stat(path).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > LOCK_STALE_MS) await rm(path, { force: true });
        else await new Promise((resolve) => setTimeout(resolve, Math.min(5 * attempt, 50)));
      }
    }
  }

  async abortIncompleteUploads(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    return 0;
  }

  async get(key: string): Promise<Uint8Array> {
    assertValidKey(key);
    try {
      const data = await readFile(this.#path(key));
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } catch (error) {
      throw this.#notFound(error, key);
    }
  }

  async getStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    assertValidKey(key);
    if (range) assertValidRange(key, range);
    let file: FileHandle;
    try {
      // Opening first pins this version: a concurrent rename replaces the name, not our inode.
      file = await open(this.#path(key), 'r');
    } catch (error) {
      throw this.#notFound(error, key);
    }
    try {
      const { size } = await file.stat();
      // Same rule as S3: the start must lie inside the object; an end past it is clamped.
      if (range && range.start >= size) {
        throw new InvalidRangeError(key, range, `the object is only ${size} bytes long`);
      }
      return file.createReadStream({ start: range?.start, end: range?.end, autoClose: true });
    } catch (error) {
      await file.close();
      throw this.#notFound(error, key);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    try {
      const info = await stat(this.#path(key));
      return info.isFile() ? { key, size: info.size } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    yield* this.#walk(folder, prefix);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await rm(this.#path(key));
    } catch (error) {
      // Deleting what is not there (or a folder, which is no object) is a no-op, as on S3.
      if (!isMissing(error) && (error as NodeJS.ErrnoException).code !== 'ERR_FS_EISDIR') throw error;
    }
    await this.#pruneEmptyFolders(key);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys: string[] = [];
    for await (const { key } of this.list(prefix)) keys.push(key);
    for (const key of keys) await this.delete(key);
    return keys.length;
  }

  async publicUrl(key: string): Promise<string> {
    assertValidKey(key);
    return pathToFileURL(this.#path(key)).href;
  }

  toString(): string {
    return `FileObjectStore(${this.url})`;
  }

  toJSON(): { kind: 'file'; url: string } {
    return { kind: 'file', url: this.url };
  }

  [inspect.custom](): string {
    return this.toString();
  }

  #path(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  /** Keys under `folder` (a key prefix ending in "/" or "") that start with `prefix`, in S3 order. */
  async *#walk(folder: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries: { name: string; isDir: boolean }[];
    try {
      const dirents = await readdir(this.#path(folder || '.'), { withFileTypes: true });
      entries = dirents.map((d) => ({ name: d.name, isDir: d.isDirectory() }));
    } catch (error) {
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw error;
    }
    // A folder sorts as "name/" so that "a-b" (0x2d) comes before "a/x" (0x2f), as on S3.
    const named = entries
      .filter((e) => !(folder === '' && e.name === TEMP_DIR))
      .map((e) => ({ ...e, key: `${folder}${e.name}${e.isDir ? '/' : ''}` }))
      .sort((a, b) => compareKeys(a.key, b.key));
    for (const entry of named) {
      if (entry.isDir) {
        if (entry.key.startsWith(prefix) || prefix.startsWith(entry.key))
          yield* this.#walk(entry.key, prefix);
      } else if (entry.key.startsWith(prefix)) {
        const info = await stat(this.#path(entry.key)).catch((error) => {
          if (isMissing(error)) return null; // deleted while we walked
          throw error;
        });
        if (info?.isFile()) yield { key: entry.key, size: info.size };
      }
    }
  }

  /**
   * Stages the object in a temp file, then publishes it by rename (replace) or by link, which fails
   * when the target exists (no-replace); either way the object appears whole or not at all.
   */
  async #writeAtomically(
    key: string,
    mode: 'replace' | 'no-replace',
    write: (file: FileHandle) => Promise<void>,
  ): Promise<boolean> {
    assertValidKey(key);
    const target = this.#path(key);
    const tempDir = join(this.root, TEMP_DIR);
    await mkdir(tempDir, { recursive: true });
    const temp = join(tempDir, `.tmp-${randomUUID()}`);
    try {
      const file = await open(temp, 'wx');
      try {
        await write(file);
        await file.datasync();
      } finally {
        await file.close();
      }
      return await this.#publish(temp, target, key, mode);
    } finally {
      await rm(temp, { force: true });
    }
  }

  async #publish(
    temp: string,
    target: string,
    key: string,
    mode: 'replace' | 'no-replace',
  ): Promise<boolean> {
    // A concurrent delete may prune the freshly made parent folder; re-create it and try again.
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(dirname(target), { recursive: true });
        if (mode === 'replace') await rename(temp, target);
        else await link(temp, target);
        return true;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && attempt < 3) continue;
        if (code === 'EEXIST' && mode === 'no-replace') {
          if ((await stat(target)).isFile()) return false;
          throw new KeyConflictError(key, this.url);
        }
        if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
          throw new KeyConflictError(key, this.url);
        }
        throw error;
      }
    }
  }

  async #pruneEmptyFolders(key: string): Promise<void> {
    const segments = key.split('/').slice(0, -1);
    while (segments.length > 0) {
      try {
        await rmdir(this.#path(segments.join('/')));
      } catch {
        return; // not empty (or already gone): stop climbing
      }
      segments.pop();
    }
  }

  #notFound(error: unknown, key: string): unknown {
    const code = (error as NodeJS.ErrnoException).code;
    if (isMissing(error) || code === 'EISDIR') return new ObjectNotFoundError(key, this.url);
    return error;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
