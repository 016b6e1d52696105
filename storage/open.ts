import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { InvalidKeyError, StoreOptionError, UnsupportedStoreUrlError } from './errors';
import { FileObjectStore } from './file-store';
import { assertValidPrefix } from './keys';
import type { ObjectStore } from './object-store';
import { redactUrl } from './redact';
import { MIN_PART_SIZE, S3ObjectStore } from './s3-store';

const DEFAULT_PART_SIZE = 16 * 1024 * 1024;

/** Options for S3 stores (ignored for file:// stores). Anything left out comes from the environment. */
export const StoreOptionsSchema = z
  .object({
    /** e.g. http://127.0.0.1:7070 for versitygw; else SYNFARM_S3_ENDPOINT, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL. */
    endpoint: z.url().optional(),
    /** Else AWS_REGION, AWS_DEFAULT_REGION, then us-east-1. */
    region: z.string().min(1).optional(),
    /** Defaults to true with a custom endpoint (local servers rarely have per-bucket DNS names). */
    forcePathStyle: z.boolean().optional(),
    /** Else the standard AWS chain: env vars, shared profile, SSO, container or instance role. */
    credentials: z
      .object({
        accessKeyId: z.string().min(1),
        secretAccessKey: z.string().min(1),
        sessionToken: z.string().optional(),
      })
      // Not strict: the AWS SDK marks a credentials object it has used (`$source`), so a caller
      // reusing one for a second store must not be refused. Unknown fields are dropped.
      .optional(),
    maxAttempts: z.int().min(1).max(20).default(5),
    /**
     * 16 MiB, not S3's 5 MiB minimum: a shard that fits in one part goes up as one PutObject
     * (no create/complete round trips, no server-side concatenation), and larger ones take a
     * third of the requests. `npm run bench -- s3-upload` measures it.
     */
    partSize: z.int().min(MIN_PART_SIZE).default(DEFAULT_PART_SIZE),
    /**
     * Part buffers per upload: one being filled while the others' parts upload. An upload holds
     * at most queueSize x partSize, and the store keeps that many buffers between uploads (32 MiB
     * at the defaults) to reuse them.
     */
    queueSize: z.int().min(1).max(64).default(2),
  })
  .strict();
export type StoreOptions = z.input<typeof StoreOptionsSchema>;

type Env = Record<string, string | undefined>;

/** Opens `s3://bucket/prefix` or `file:///absolute/path`; anything else is an UnsupportedStoreUrlError. */
export function openStore(url: string, options: StoreOptions = {}, env: Env = process.env): ObjectStore {
  if (url.startsWith('s3://'))
    return openS3(url, parseOptions({ ...options, partSize: options.partSize ?? partSizeFromEnv(env) }), env);
  if (url.startsWith('file://')) return openFile(url);
  throw new UnsupportedStoreUrlError(redactUrl(url));
}

function openS3(url: string, options: z.output<typeof StoreOptionsSchema>, env: Env): S3ObjectStore {
  const [, bucket = '', rest = ''] = /^s3:\/\/([^/]*)\/?(.*)$/.exec(url) ?? [];
  const shown = redactUrl(url);
  if (bucket.includes('@')) throw new UnsupportedStoreUrlError(shown, 'credentials do not belong in the URL');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new UnsupportedStoreUrlError(shown, `"${bucket}" is not a valid S3 bucket name`);
  }
  const prefix = rest === '' || rest.endsWith('/') ? rest : `${rest}/`;
  try {
    assertValidPrefix(prefix);
  } catch (error) {
    if (error instanceof InvalidKeyError)
      throw new UnsupportedStoreUrlError(shown, `bad prefix: ${error.message}`);
    throw error;
  }
  const endpoint =
    options.endpoint ?? env.SYNFARM_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return new S3ObjectStore({
    bucket,
    prefix,
    endpoint: endpoint || undefined,
    region: options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? Boolean(endpoint),
    credentials: options.credentials,
    maxAttempts: options.maxAttempts,
    partSize: options.partSize,
    queueSize: options.queueSize,
  });
}

function openFile(url: string): FileObjectStore {
  try {
    return new FileObjectStore(fileURLToPath(url));
  } catch (error) {
    throw new UnsupportedStoreUrlError(redactUrl(url), (error as Error).message);
  }
}

/**
 * SYNFARM_S3_PART_MIB sets the multipart part size for every store of a process (a worker, say)
 * without code: larger parts for fast links, S3's 5 MiB minimum to exercise multipart on small
 * shards (the chaos suite does).
 */
function partSizeFromEnv(env: Env): number | undefined {
  const raw = env.SYNFARM_S3_PART_MIB;
  if (raw === undefined || raw === '') return undefined;
  const mib = Number(raw);
  if (!Number.isInteger(mib) || mib * 1024 * 1024 < MIN_PART_SIZE)
    throw new StoreOptionError(
      'SYNFARM_S3_PART_MIB',
      `got "${raw}"; expected whole MiB >= 5 (S3's minimum part size)`,
    );
  return mib * 1024 * 1024;
}

function parseOptions(options: StoreOptions): z.output<typeof StoreOptionsSchema> {
  const parsed = StoreOptionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  // zod's messages name the rule, never the value, so no secret leaks through them.
  const issue = parsed.error.issues[0]!;
  throw new StoreOptionError(issue.path.join('.') || '(options)', issue.message);
}
