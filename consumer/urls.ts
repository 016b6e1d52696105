import { fileURLToPath } from 'node:url';
import { braceRange } from '../run/manifest';
import type { CommittedShard, RunHandle } from './run';

/**
 * How a training cluster will open each shard:
 * - `s3`: `s3://bucket/key` (readers with their own S3 access, e.g. wids' `aws s3 cp`);
 * - `pipe`: `pipe:aws s3 cp [--endpoint-url X] s3://bucket/key -`, webdataset's streaming form;
 * - `presigned`: https URLs that need no credentials, valid for `expiresInSeconds`.
 * A run in a local folder gives plain paths for every scheme: that is what webdataset opens.
 */
export type UrlScheme = 's3' | 'presigned' | 'pipe';

export interface ShardUrlOptions {
  scheme?: UrlScheme;
  /** Presigned URLs only; default one day, at most 7 days. */
  expiresInSeconds?: number;
}

/** One URL per committed shard, in shard order; uncommitted shards never appear. */
export async function shardUrls(run: RunHandle, options: ShardUrlOptions = {}): Promise<string[]> {
  const scheme = options.scheme ?? 's3';
  return Promise.all(
    run.shards.map((s) =>
      scheme === 'presigned' && !isLocal(run)
        ? run.store.publicUrl(s.key, { expiresInSeconds: options.expiresInSeconds })
        : staticUrl(run, s.url, scheme),
    ),
  );
}

/**
 * One string naming every committed shard, as webdataset takes it: a brace range
 * (`.../shard-{000000..000007}.tar`, or `{000001,000004}` when there are gaps) for `s3` and `pipe`;
 * presigned URLs each carry their own signature, so they are joined with `::`, which
 * webdataset's `expand_urls` splits. Null when nothing is committed yet.
 */
export async function urlTemplate(run: RunHandle, options: ShardUrlOptions = {}): Promise<string | null> {
  const scheme = options.scheme ?? 's3';
  if (run.shards.length === 0) return null;
  if (scheme === 'presigned' && !isLocal(run)) return (await shardUrls(run, options)).join('::');
  const range = braceRange(run.shards.map((s) => s.shard));
  const first = run.shards[0] as CommittedShard;
  const url = first.url.replace(/shard-\d{6}\.tar$/, `shard-${range}.tar`);
  return staticUrl(run, url, scheme);
}

function isLocal(run: RunHandle): boolean {
  return run.store.url.startsWith('file://');
}

function staticUrl(run: RunHandle, url: string, scheme: UrlScheme): string {
  if (url.startsWith('file://')) return fileURLToPath(url);
  if (scheme !== 'pipe') return url;
  const endpoint = run.endpoint ? ` --endpoint-url ${shellQuote(run.endpoint)}` : '';
  return `pipe:aws s3 cp${endpoint} ${shellQuote(url)} -`;
}

/** Quotes only when needed, so brace ranges stay visible to webdataset's brace expansion. */
function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:{},=+@%-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
