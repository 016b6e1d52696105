import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { isInputError } from '../activities/failures';
import {
  BucketNotFoundError,
  ExpiredCredentialsError,
  InvalidCredentialsError,
  MissingCredentialsError,
  mapS3Error,
  ObjectNotFoundError,
  openStore,
  redact,
  redactUrl,
  type S3ObjectStore,
  StoreOptionError,
  type StoreOptions,
  StoreUnreachableError,
} from '../storage';
import { testStack } from './support/stack';

const MiB = 1024 * 1024;
const WRONG_SECRET = 'wrong-secret-Zq8xP3vL9kT2';

function s3Options(overrides: { secretAccessKey?: string; accessKeyId?: string; endpoint?: string } = {}) {
  const { s3 } = testStack();
  return {
    endpoint: overrides.endpoint ?? s3.endpoint,
    region: s3.region,
    credentials: {
      accessKeyId: overrides.accessKeyId ?? s3.accessKeyId,
      secretAccessKey: overrides.secretAccessKey ?? s3.secretAccessKey,
    },
  };
}

const opened: S3ObjectStore[] = [];
function open(url: string, options: StoreOptions = s3Options()): S3ObjectStore {
  const store = openStore(url, options) as S3ObjectStore;
  opened.push(store);
  return store;
}
afterAll(() => {
  for (const store of opened) store.destroy();
});

/** The error a promise rejects with (failing the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the operation to fail');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function* chunks(total: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < total; offset += 256 * 1024)
    yield new Uint8Array(Math.min(256 * 1024, total - offset));
}

describe('S3 errors users see', () => {
  it('reports a missing bucket as BucketNotFoundError in one line, on get, head, list and put', async () => {
    const store = open(`s3://synfarm-missing-${randomUUID().slice(0, 8)}/run`);
    const attempts = [
      () => store.get('a'),
      () => store.head('a'),
      async () => {
        for await (const _ of store.list('')) break;
      },
      () => store.put('a', 'x'),
    ];
    for (const attempt of attempts) {
      const error = await failure(attempt());
      expect(error).toBeInstanceOf(BucketNotFoundError);
      expect(error).toMatchObject({ code: 'bucket-not-found', bucket: store.bucket });
      expect(error.message).toContain(store.bucket);
      expect(error.message).not.toContain('\n');
    }
  });

  it('reports a wrong secret as InvalidCredentialsError that names bucket and endpoint but not the secret', async () => {
    const { s3 } = testStack();
    const store = open(`s3://${s3.bucket}/creds`, s3Options({ secretAccessKey: WRONG_SECRET }));
    for (const attempt of [() => store.get('a'), () => store.head('a'), () => store.put('a', 'x')]) {
      const error = await failure(attempt());
      expect(error).toBeInstanceOf(InvalidCredentialsError);
      expect(error.message).toBe(
        `S3 rejected the credentials for bucket "${s3.bucket}" at endpoint ${s3.endpoint}: ` +
          'check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or your profile.',
      );
      expect(`${error.message} ${error.stack} ${JSON.stringify(error)} ${inspect(error)}`).not.toContain(
        WRONG_SECRET,
      );
    }
  });

  it('reports an unknown access key as InvalidCredentialsError too', async () => {
    const { s3 } = testStack();
    const store = open(
      `s3://${s3.bucket}/creds`,
      s3Options({ accessKeyId: 'AKIANOSUCHKEY0000000', secretAccessKey: WRONG_SECRET }),
    );
    expect(await failure(store.get('a'))).toBeInstanceOf(InvalidCredentialsError);
  });

  it('reports a refused connection as StoreUnreachableError naming the endpoint', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const store = open('s3://synfarm-test/x', s3Options({ endpoint }));
    const error = await failure(store.get('a'));
    expect(error).toBeInstanceOf(StoreUnreachableError);
    expect(error).toMatchObject({ code: 'store-unreachable', endpoint, reason: 'ECONNREFUSED' });
    expect(error.message).toContain(endpoint);
    expect(error.message).not.toContain('\n');
  });

  it('aborting putStream midway leaves no object and no incomplete multipart upload', async () => {
    const { s3 } = testStack();
    // 5 MiB parts (the default is 16 MiB): the 6 MiB body must start a real multipart upload.
    const store = open(`s3://${s3.bucket}/abort-${randomUUID()}`, { ...s3Options(), partSize: 5 * MiB });
    const client = new S3Client({ ...s3Options(), forcePathStyle: true });
    const uploadsOf = async (key: string) => {
      const out = await client.send(
        new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: store.prefix }),
      );
      return (out.Uploads ?? []).filter((u) => u.Key === store.prefix + key);
    };
    const controller = new AbortController();
    async function* stalled() {
      yield* chunks(6 * MiB);
      await new Promise(() => {}); // the producer hangs; only the abort can end this upload
    }
    const upload = store.putStream('shard.tar', stalled(), { signal: controller.signal });
    upload.catch(() => {});
    // Wait until the server really holds an unfinished multipart upload with a part in it.
    await vi.waitFor(async () => expect(await uploadsOf('shard.tar')).toHaveLength(1), { timeout: 30_000 });
    controller.abort();
    const error = await failure(upload);
    expect(error.name).toBe('AbortError');
    expect(await store.head('shard.tar')).toBeNull();
    expect(await uploadsOf('shard.tar')).toEqual([]);
    client.destroy();
  });

  it('a body that fails after several parts aborts the multipart upload on the server', async () => {
    const { s3 } = testStack();
    // 5 MiB parts (the default is 16 MiB), so parts really reach the server before the failure.
    const store = open(`s3://${s3.bucket}/fail-${randomUUID()}`, { ...s3Options(), partSize: 5 * MiB });
    async function* failing() {
      yield* chunks(11 * MiB);
      throw new Error('renderer crashed');
    }
    await expect(store.putStream('shard.tar', failing())).rejects.toThrow('renderer crashed');
    const client = new S3Client({ ...s3Options(), forcePathStyle: true });
    const out = await client.send(
      new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: store.prefix }),
    );
    client.destroy();
    expect(out.Uploads ?? []).toEqual([]);
    expect(await store.head('shard.tar')).toBeNull();
  });

  it('rejects a presign expiry beyond the 7 days SigV4 allows', async () => {
    const { s3 } = testStack();
    const store = open(`s3://${s3.bucket}/x`);
    const error = await failure(store.publicUrl('k', { expiresInSeconds: 8 * 24 * 3600 }));
    expect(error).toBeInstanceOf(StoreOptionError);
  });
});

describe('secrets stay out of output', () => {
  const SECRET = 'sEcReT-that-must-not-leak-42';
  const TOKEN = 'session-token-that-must-not-leak-42';

  it('never shows the secret in String(store), JSON.stringify(store) or util.inspect(store)', () => {
    const store = open('s3://synfarm-test/run', {
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: SECRET, sessionToken: TOKEN },
    });
    const shown = [
      String(store),
      JSON.stringify(store),
      inspect(store, { depth: 10, showHidden: true }),
      `${store}`,
    ];
    for (const text of shown) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(TOKEN);
    }
    expect(String(store)).toContain('s3://synfarm-test/run');
    expect(JSON.parse(JSON.stringify(store))).toMatchObject({
      url: 's3://synfarm-test/run',
      credentials: '[redacted]',
    });
  });

  it('redact() hides secret fields at any depth and signatures in URLs, keeping the rest', () => {
    const config = {
      output: 's3://bucket/run',
      s3: { endpoint: 'http://minio:9000', credentials: { accessKeyId: 'AKIA', secretAccessKey: SECRET } },
      list: [{ sessionToken: TOKEN }, { password: 'pw-42' }],
      shard: `https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA&X-Amz-Signature=${SECRET}&x-id=GetObject`,
      proxy: `http://user:${SECRET}@proxy:8080/`,
    };
    const text = JSON.stringify(redact(config));
    for (const secret of [SECRET, TOKEN, 'pw-42']) expect(text).not.toContain(secret);
    expect(redact(config)).toMatchObject({
      output: 's3://bucket/run',
      s3: { endpoint: 'http://minio:9000' },
    });
    expect(redactUrl(config.shard)).toContain('x-id=GetObject');
  });

  it('redact() writes an object reached by two paths both times, and only a loop as [circular]', () => {
    const rejects = { 'no-face': 2, credentials: SECRET };
    const status = { rejectsByReason: rejects, progress: { rejectsByReason: rejects } };
    expect(redact(status)).toEqual({
      rejectsByReason: { 'no-face': 2, credentials: '[redacted]' },
      progress: { rejectsByReason: { 'no-face': 2, credentials: '[redacted]' } },
    });
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    expect(redact(loop)).toEqual({ name: 'loop', self: '[circular]' });
  });

  it('keeps credentials written into a store URL out of the error about it', () => {
    const error = (() => {
      try {
        openStore(`s3://AKIA:${SECRET}@bucket/run`);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/^Unsupported store URL/);
    expect(error?.message).not.toContain(SECRET);
  });
});

describe('mapS3Error', () => {
  const ctx = {
    bucket: 'b',
    endpoint: 'http://s3.local',
    store: 's3://b/p',
    operation: 'GetObject',
    key: 'k',
  };
  const sdkError = (name: string, status: number) =>
    Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });

  it('maps the codes AWS uses for bad credentials, missing keys and missing credentials', () => {
    expect(mapS3Error(sdkError('InvalidAccessKeyId', 403), ctx)).toBeInstanceOf(InvalidCredentialsError);
    expect(mapS3Error(sdkError('ExpiredToken', 400), ctx)).toBeInstanceOf(ExpiredCredentialsError);
    expect(mapS3Error(sdkError('NoSuchKey', 404), ctx)).toBeInstanceOf(ObjectNotFoundError);
    const missing = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(mapS3Error(missing, ctx)).toBeInstanceOf(MissingCredentialsError);
  });

  // SDK errors built by hand (a test double): an expiring session or a provider timing out
  // cannot be caused against the local server.
  it('transient credential failures are retried by activities; wrong keys stop the run', () => {
    const provider = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(isInputError(mapS3Error(provider, ctx))).toBe(false);
    expect(isInputError(mapS3Error(sdkError('ExpiredToken', 400), ctx))).toBe(false);
    expect(isInputError(mapS3Error(sdkError('TokenRefreshRequired', 400), ctx))).toBe(false);
    expect(isInputError(mapS3Error(sdkError('InvalidAccessKeyId', 403), ctx))).toBe(true);
    expect(isInputError(mapS3Error(sdkError('SignatureDoesNotMatch', 403), ctx))).toBe(true);
  });

  it('summarises an unknown server error in one line with its code and status', () => {
    const error = mapS3Error(sdkError('SlowDown', 503), ctx);
    expect(error.message).toBe(
      'S3 GetObject of "k" in s3://b/p failed: SlowDown (HTTP 503): SlowDown happened.',
    );
  });
});
