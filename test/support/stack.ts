import { inject } from 'vitest';

/**
 * The real dev stack (Temporal dev server + versitygw) that test/global-setup.ts starts once
 * per `vitest run` and every test file reuses. Tests that need S3 or Temporal call this.
 */
export interface TestStack {
  s3: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
  temporal: { address: string; namespace: string; uiUrl: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: TestStack;
  }
}

export function testStack(): TestStack {
  return inject('stack');
}

/** Environment that points the real CLI (a child process) at the test stack. */
export function stackEnv(): Record<string, string> {
  const { s3, temporal } = testStack();
  return {
    SYNFARM_TEMPORAL_ADDRESS: temporal.address,
    SYNFARM_S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
  };
}
