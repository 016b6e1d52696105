import { z } from 'zod';
import { parseResolvedSpec, type Spec } from '../spec';
import { ObjectNotFoundError } from '../storage/errors';
import type { ObjectStore } from '../storage/object-store';
import { runKeys, shardOfSidecar } from './layout';
import { buildWidsIndex, type Manifest, ManifestSchema } from './manifest';
import { type Sidecar, SidecarSchema } from './sidecar';

/**
 * The one home of a run's objects: every read and write of spec, sidecars, manifest, wids index
 * and staged JSON goes through here, so a missing or damaged object is reported one way (a
 * RunObjectError naming its key) and "committed" has one definition (`isCommitted`).
 */

/** `run-not-launched`: no spec.json, so nothing about the run can be done. */
/** `contended-run-object`: a conditional write lost every one of its bounded attempts. */
export type RunObjectErrorCode =
  | 'missing-run-object'
  | 'damaged-run-object'
  | 'run-not-launched'
  | 'contended-run-object';

/** Re-merges after a lost race before giving up (the activity then fails and Temporal retries). */
const INDEX_WRITE_ATTEMPTS = 8;

export class RunObjectError extends Error {
  override readonly name = 'RunObjectError';
  constructor(
    readonly code: RunObjectErrorCode,
    /** The object's key relative to the store, e.g. `run/shards/shard-000001.json`. */
    readonly key: string,
    readonly store: string,
    detail: string,
  ) {
    super(
      code === 'damaged-run-object'
        ? `${store}/${key} is damaged (${detail}): it was changed after it was written; remove it and resume the run`
        : code === 'contended-run-object'
          ? `${store}/${key} could not be written: ${detail}`
          : `${store}/${key} does not exist: ${detail}`,
    );
  }
}

/**
 * A shard is committed when its sidecar exists and parses, and its tar exists with the byte
 * count the sidecar records. (The sha256 is checked where bytes are read anyway: by a commit
 * retried on a committed shard, and by readers in verify mode.)
 */
export function isCommitted(sidecar: { bytes: number } | undefined, tarBytes: number | undefined): boolean {
  return sidecar !== undefined && tarBytes === sidecar.bytes;
}

/** What listing needs of a shard's record: a sidecar, or a manifest entry that copies it. */
export interface ShardRecord {
  shard: number;
  bytes: number;
}

/** A shard whose sidecar exists but whose tar is missing or of another size. */
export interface DamagedShard<T extends ShardRecord = Sidecar> {
  shard: number;
  record: T;
  tarBytes: number | undefined;
}

export interface RunShards<T extends ShardRecord = Sidecar> {
  committed: T[];
  damaged: DamagedShard<T>[];
}

const WidsShardListSchema = z.object({ shardlist: z.array(z.object({ url: z.string() })) });

/** The shard URLs a stored wids index names; none when it is damaged (it is then rewritten). */
function widsUrls(body: Uint8Array): string[] {
  try {
    const parsed = WidsShardListSchema.safeParse(JSON.parse(Buffer.from(body).toString('utf8')));
    return parsed.success ? parsed.data.shardlist.map((s) => s.url) : [];
  } catch {
    return [];
  }
}

/** True when `stored` names every shard `wanted` does. */
function holdsShards(stored: readonly { shard: number }[], wanted: readonly { shard: number }[]): boolean {
  const have = new Set(stored.map((s) => s.shard));
  return wanted.every((s) => have.has(s.shard));
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export class RunObjects {
  readonly keys: ReturnType<typeof runKeys>;

  constructor(
    readonly store: ObjectStore,
    readonly runId: string,
  ) {
    this.keys = runKeys(runId);
  }

  /** The object's bytes, or undefined when it does not exist; every other failure is thrown. */
  async bytes(key: string): Promise<Uint8Array | undefined> {
    try {
      return await this.store.get(key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
  }

  /** A JSON object parsed by its schema; undefined when absent, RunObjectError when damaged. */
  async json<S extends z.ZodType>(key: string, schema: S): Promise<z.infer<S> | undefined> {
    const bytes = await this.bytes(key);
    return bytes === undefined ? undefined : this.#parse(key, schema, bytes);
  }

  #parse<S extends z.ZodType>(key: string, schema: S, bytes: Uint8Array): z.infer<S> {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (err) {
      throw new RunObjectError(
        'damaged-run-object',
        key,
        this.store.url,
        `not JSON: ${(err as Error).message}`,
      );
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : '(root)';
      throw new RunObjectError('damaged-run-object', key, this.store.url, `${where}: ${issue?.message}`);
    }
    return parsed.data;
  }

  /** Like `json`, but a missing object is an error too. */
  async requireJson<S extends z.ZodType>(key: string, schema: S, why: string): Promise<z.infer<S>> {
    const value = await this.json(key, schema);
    if (value === undefined) throw new RunObjectError('missing-run-object', key, this.store.url, why);
    return value;
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.store.put(key, JSON.stringify(value), { contentType: 'application/json' });
  }

  /** The resolved spec written at launch; a bad one is a SpecError naming the field. */
  async spec(): Promise<Spec> {
    const bytes = await this.bytes(this.keys.spec);
    if (bytes === undefined) {
      throw new RunObjectError(
        'run-not-launched',
        this.keys.spec,
        this.store.url,
        'the run was never launched here; check the run id and the output URL',
      );
    }
    return parseResolvedSpec(Buffer.from(bytes).toString('utf8'), {
      source: `${this.store.url}/${this.keys.spec}`,
    });
  }

  sidecar(shard: number): Promise<Sidecar | undefined> {
    return this.json(this.keys.shardSidecar(shard), SidecarSchema);
  }

  /**
   * Writes the commit marker once: true when this call wrote it, false when one was already
   * there (a conditional put, so of two racing commits exactly one writes it).
   */
  writeSidecar(sidecar: Sidecar): Promise<boolean> {
    return this.store.putIfAbsent(this.keys.shardSidecar(sidecar.shard), json(sidecar), {
      contentType: 'application/json',
    });
  }

  manifest(): Promise<Manifest | undefined> {
    return this.json(this.keys.manifest, ManifestSchema);
  }

  /**
   * Writes manifest.json and the wids index as given, unconditionally: for fixtures and benches
   * only. A run's index is written by `updateIndex`.
   */
  async writeIndex(manifest: Manifest): Promise<void> {
    await this.store.put(this.keys.manifest, json(manifest), { contentType: 'application/json' });
    await this.store.put(this.keys.widsIndex, json(buildWidsIndex(manifest)), {
      contentType: 'application/json',
    });
  }

  /**
   * The run index's one write path; it can never go backwards. Reads the manifest with its ETag,
   * applies `merge` (a union, so re-applying it is harmless) and writes with If-Match on that ETag
   * (If-None-Match when there is none yet); on losing a race it re-reads and re-merges. A complete
   * manifest is never rewritten. The write is read back, so a server that ignores If-Match still
   * cannot silently drop this merge's shards. Then the wids index is brought up to the stored
   * manifest (see `#syncWids`). Returns the stored manifest; `merge` returns `previous` itself when
   * it has nothing to add.
   */
  async updateIndex(merge: (previous: Manifest | undefined) => Promise<Manifest>): Promise<Manifest> {
    for (let attempt = 1; attempt <= INDEX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.#versionedJson(this.keys.manifest, ManifestSchema);
      if (current?.value.state === 'complete') {
        await this.#syncWids(current.value);
        return current.value;
      }
      const next = await merge(current?.value);
      if (current && next === current.value) return next;
      const written = await this.store.putIfMatch(this.keys.manifest, json(next), current?.etag ?? null, {
        contentType: 'application/json',
      });
      if (!written) continue;
      const stored = await this.#versionedJson(this.keys.manifest, ManifestSchema);
      if (!stored || !holdsShards(stored.value.shards, next.shards)) continue;
      await this.#syncWids(stored.value);
      return stored.value;
    }
    throw new RunObjectError(
      'contended-run-object',
      this.keys.manifest,
      this.store.url,
      `another writer changed it before each of ${INDEX_WRITE_ATTEMPTS} attempts; the activity is retried`,
    );
  }

  /**
   * The wids index only ever grows and never names a shard the manifest lacks: it is built from
   * a manifest already stored (which only grows), and a wids index already holding all of those
   * shards is left alone, so a late writer with an older manifest cannot shrink it.
   */
  async #syncWids(manifest: Manifest): Promise<void> {
    const key = this.keys.widsIndex;
    const wanted = manifest.shards.map((s) => s.url);
    for (let attempt = 1; attempt <= INDEX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.store.getVersioned(key).catch((err) => {
        if (err instanceof ObjectNotFoundError) return undefined;
        throw err;
      });
      const listed = new Set(current ? widsUrls(current.body) : []);
      if (current && wanted.every((url) => listed.has(url))) return;
      const body = json(buildWidsIndex(manifest));
      if (await this.store.putIfMatch(key, body, current?.etag ?? null, { contentType: 'application/json' }))
        return;
    }
    throw new RunObjectError(
      'contended-run-object',
      key,
      this.store.url,
      `another writer changed it before each of ${INDEX_WRITE_ATTEMPTS} attempts; the activity is retried`,
    );
  }

  /** Like `json`, with the object's version tag for a conditional rewrite. */
  async #versionedJson<S extends z.ZodType>(
    key: string,
    schema: S,
  ): Promise<{ value: z.infer<S>; etag: string } | undefined> {
    let got: { body: Uint8Array; etag: string };
    try {
      got = await this.store.getVersioned(key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
    return { value: this.#parse(key, schema, got.body), etag: got.etag };
  }

  /** Every shard with a sidecar, committed or damaged, from one listing of `shards/`. */
  listShards(): Promise<RunShards> {
    return this.listShardRecords((shard) => this.sidecar(shard));
  }

  /**
   * The same, with each shard's record read by `read` (a consumer passes the manifest's entry
   * when it has one, so known shards cost no request). Listing is for resume, continue-as-new,
   * the final report and readers: never for a single commit.
   */
  async listShardRecords<T extends ShardRecord>(
    read: (shard: number) => Promise<T | undefined>,
  ): Promise<RunShards<T>> {
    const sizes = new Map<string, number>();
    for await (const obj of this.store.list(this.keys.shardsPrefix)) sizes.set(obj.key, obj.size);
    const out: RunShards<T> = { committed: [], damaged: [] };
    for (const key of sizes.keys()) {
      const shard = shardOfSidecar(key);
      if (shard === undefined || key !== this.keys.shardSidecar(shard)) continue;
      const tarBytes = sizes.get(this.keys.shardTar(shard));
      const record = await read(shard);
      if (!record) continue; // removed between the listing and the read
      if (isCommitted(record, tarBytes)) out.committed.push(record);
      else out.damaged.push({ shard, record, tarBytes });
    }
    out.committed.sort((a, b) => a.shard - b.shard);
    out.damaged.sort((a, b) => a.shard - b.shard);
    return out;
  }
}
