import { describe, expect, it } from 'vitest';
import {
  FileObjectStore,
  openStore,
  type S3ObjectStore,
  StoreOptionError,
  UnsupportedStoreUrlError,
} from '../storage';

const s3 = (url: string, env: Record<string, string> = {}, options = {}) => {
  const store = openStore(url, options, env) as S3ObjectStore;
  store.destroy();
  return store;
};

describe('openStore', () => {
  it('opens s3://bucket/prefix with the prefix as a folder, and a bare bucket with none', () => {
    expect(s3('s3://my-bucket/runs/2024')).toMatchObject({
      bucket: 'my-bucket',
      prefix: 'runs/2024/',
      url: 's3://my-bucket/runs/2024',
    });
    expect(s3('s3://my-bucket/runs/')).toMatchObject({ prefix: 'runs/', url: 's3://my-bucket/runs' });
    expect(s3('s3://my-bucket')).toMatchObject({ prefix: '', url: 's3://my-bucket' });
  });

  it('opens file:///abs/path as a folder store, decoding the URL', () => {
    const store = openStore('file:///tmp/synfarm%20out/') as FileObjectStore;
    expect(store).toBeInstanceOf(FileObjectStore);
    expect(store.root).toBe('/tmp/synfarm out');
    expect(store.url).toBe('file:///tmp/synfarm%20out');
  });

  it('rejects other schemes, bare paths and bad bucket names with an error naming the URL and what works', () => {
    for (const url of [
      '/abs/path',
      'gs://bucket/x',
      'https://bucket.s3.amazonaws.com/x',
      'file://host/x',
      's3://Bad_Bucket/x',
      's3://b/a//c',
    ]) {
      let error: unknown;
      try {
        openStore(url, {}, {});
      } catch (e) {
        error = e;
      }
      expect(error, url).toBeInstanceOf(UnsupportedStoreUrlError);
      expect((error as Error).message).toContain('s3://bucket/prefix or file:///absolute/path');
    }
    expect(() => openStore('gs://bucket/x')).toThrow('Unsupported store URL "gs://bucket/x"');
  });

  it('takes the endpoint from the options, else SYNFARM_S3_ENDPOINT, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL', () => {
    const all = {
      SYNFARM_S3_ENDPOINT: 'http://synfarm:1',
      AWS_ENDPOINT_URL_S3: 'http://aws-s3:2',
      AWS_ENDPOINT_URL: 'http://aws:3',
    };
    expect(s3('s3://bkt/x', all, { endpoint: 'http://given:0' }).endpoint).toBe('http://given:0');
    expect(s3('s3://bkt/x', all).endpoint).toBe('http://synfarm:1');
    expect(
      s3('s3://bkt/x', { AWS_ENDPOINT_URL_S3: 'http://aws-s3:2', AWS_ENDPOINT_URL: 'http://aws:3' }).endpoint,
    ).toBe('http://aws-s3:2');
    expect(s3('s3://bkt/x', { AWS_ENDPOINT_URL: 'http://aws:3' }).endpoint).toBe('http://aws:3');
  });

  it('defaults to AWS in us-east-1 when nothing is configured', () => {
    expect(s3('s3://bkt/x').endpoint).toBe('https://s3.us-east-1.amazonaws.com');
    expect(s3('s3://bkt/x', { AWS_REGION: 'eu-west-1' }).endpoint).toBe('https://s3.eu-west-1.amazonaws.com');
  });

  it('rejects malformed options naming the field, and a part size below 5 MiB', () => {
    expect(() => openStore('s3://bkt/x', { endpoint: 'not a url' }, {})).toThrow(StoreOptionError);
    expect(() => openStore('s3://bkt/x', { partSize: 1024 }, {})).toThrow(/"partSize"/);
  });

  it('accepts a credentials object the AWS SDK has already marked with $source, reusing it for a second store', () => {
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-real-secret' };
    s3('s3://my-bucket/a', {}, { credentials });
    Object.assign(credentials, { $source: { CREDENTIALS_CODE: 'e' } });
    expect(() => s3('s3://my-bucket/b', {}, { credentials })).not.toThrow();
  });

  it('takes the part size from SYNFARM_S3_PART_MIB when the options give none, and names it when wrong', () => {
    expect(() => openStore('s3://bkt/x', {}, { SYNFARM_S3_PART_MIB: '5' })).not.toThrow();
    expect(() => openStore('s3://bkt/x', {}, { SYNFARM_S3_PART_MIB: '4' })).toThrow(
      /"SYNFARM_S3_PART_MIB".*>= 5/,
    );
    expect(() => openStore('s3://bkt/x', {}, { SYNFARM_S3_PART_MIB: 'big' })).toThrow(StoreOptionError);
    // explicit options win over the environment
    expect(() =>
      openStore('s3://bkt/x', { partSize: 6 * 2 ** 20 }, { SYNFARM_S3_PART_MIB: 'big' }),
    ).not.toThrow();
  });
});
