import { parseSidecar, type Sidecar } from '../run/sidecar';
import { ObjectNotFoundError, type ObjectStore, openStore, type StoreOptions } from '../storage';
import { groupByKeys, readTar, StreamDigest, type TarMember } from '../webdataset';
import { decodeCls, decodeJson } from './decode';
import { ConsumerOptionError } from './errors';

export interface ShardInspection {
  url: string;
  bytes: number;
  sha256: string;
  members: { name: string; offset: number; size: number }[];
  samples: number;
  /** Class index -> samples, from the `.cls` members (AffectNet order). */
  classHistogram: number[];
  /** The first samples: key, fields and parsed `.json`. */
  firstSamples: { key: string; fields: string[]; json: unknown }[];
  /** The shard's sidecar when it has one; null means the shard is not committed. */
  sidecar: Sidecar | null;
  /** Whether bytes and sha256 equal the sidecar's; null without a sidecar. */
  matchesSidecar: boolean | null;
}

export type ShardSource = string | { store: ObjectStore; key: string };

/**
 * Everything `synfarm inspect SHARD` shows, from one streaming pass over the tar: its members, its
 * samples and class histogram, the first samples' labels, and whether it matches its sidecar. A
 * damaged tar raises TarFormatError with the byte offset.
 */
export async function inspectShard(
  source: ShardSource,
  options: { samples?: number; storeOptions?: StoreOptions } = {},
): Promise<ShardInspection> {
  const { store, key } = typeof source === 'string' ? openShardUrl(source, options.storeOptions) : source;
  const url = `${store.url.replace(/\/+$/, '')}/${key}`;
  const wanted = options.samples ?? 3;
  const sidecar = await readSidecar(store, key);
  const digest = new StreamDigest();
  const stream = await store.getStream(key);
  async function* bytes(): AsyncGenerator<Uint8Array> {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      digest.update(chunk);
      yield chunk;
    }
    digest.finish();
  }
  const members: ShardInspection['members'] = [];
  async function* listed(): AsyncGenerator<TarMember> {
    for await (const member of readTar(bytes(), { name: url })) {
      members.push({ name: member.name, offset: member.offset, size: member.size });
      yield member;
    }
  }
  let samples = 0;
  const classHistogram: number[] = [];
  const firstSamples: ShardInspection['firstSamples'] = [];
  for await (const sample of groupByKeys(listed(), { url })) {
    samples++;
    if (sample.cls !== undefined) {
      const cls = decodeCls(sample);
      for (let i = classHistogram.length; i <= cls; i++) classHistogram.push(0);
      classHistogram[cls] = (classHistogram[cls] ?? 0) + 1;
    }
    if (firstSamples.length < wanted) {
      firstSamples.push({
        key: sample.__key__,
        fields: Object.keys(sample)
          .filter((f) => !f.startsWith('__'))
          .sort(),
        json: sample.json === undefined ? null : decodeJson(sample),
      });
    }
  }
  if (!digest.done) digest.finish();
  return {
    url,
    bytes: digest.bytes,
    sha256: digest.sha256,
    members,
    samples,
    classHistogram,
    firstSamples,
    sidecar,
    matchesSidecar: sidecar ? sidecar.bytes === digest.bytes && sidecar.sha256 === digest.sha256 : null,
  };
}

/** `s3://bucket/.../shard-000001.tar`, `file:///.../shard-000001.tar` or an absolute path. */
function openShardUrl(url: string, storeOptions: StoreOptions = {}): { store: ObjectStore; key: string } {
  const href = url.startsWith('/') ? `file://${url}` : url;
  const slash = href.lastIndexOf('/');
  const key = href.slice(slash + 1);
  if (!key.endsWith('.tar') || slash < 0) {
    throw new ConsumerOptionError('shard', `"${url}" does not name a .tar shard`);
  }
  return { store: openStore(href.slice(0, slash), storeOptions), key };
}

async function readSidecar(store: ObjectStore, key: string): Promise<Sidecar | null> {
  try {
    return parseSidecar(await store.get(key.replace(/\.tar$/, '.json')));
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
}
