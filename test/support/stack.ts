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
