import { devUp, readCredentials } from '../infra/dev-stack';
import type { StoreOptions } from '../storage';

/** Benchmarks run against the developer's dev stack (`synfarm dev up`), started if needed. */
export async function benchStack(): Promise<{
  s3: StoreOptions;
  bucket: string;
  temporal: { address: string; namespace: string };
}> {
  const info = await devUp({}, (msg) => process.stderr.write(`${msg}\n`));
  return {
    s3: { endpoint: info.s3.endpoint, region: info.s3.region, credentials: await readCredentials(info) },
    bucket: info.s3.bucket,
    temporal: info.temporal,
  };
}
