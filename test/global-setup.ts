import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { devDown, devStatus, devUp, readCredentials } from '../infra/dev-stack';
import { PROJECT_ROOT } from '../infra/paths';
import type { TestStack } from './support/stack';

/**
 * One real stack for the whole test run, on its own ports and state folder so a developer's
 * `synfarm dev up` stack is never touched. The Temporal history threshold that suggests
 * continue-as-new is lowered so every test run exercises it.
 */
// SYNFARM_TEST_PORT_OFFSET moves the whole stack, so two checkouts can run their suites at once.
const portOffset = Number(process.env.SYNFARM_TEST_PORT_OFFSET ?? 0);

export const TEST_STACK_CONFIG = {
  stateDir: path.join(PROJECT_ROOT, '.state', 'test'),
  temporalPort: 27233 + portOffset,
  temporalUiPort: 28233 + portOffset,
  s3Port: 27070 + portOffset,
  bucket: 'synfarm-test',
  dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 200 },
};

/**
 * Test runs that use the stack right now, by pid: the last one to finish stops it, so two
 * `vitest run`s at once (a developer and an editor plugin, say) never pull it from each other.
 */
const usersDir = path.join(PROJECT_ROOT, '.state', 'test-users');

async function liveUsers(): Promise<number[]> {
  const pids = (await readdir(usersDir).catch(() => [])).map(Number).filter(Number.isInteger);
  return pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
}

export default async function setup(project: TestProject) {
  const status = await devStatus(TEST_STACK_CONFIG);
  if (!status.temporal.running && !status.s3.running) {
    await rm(TEST_STACK_CONFIG.stateDir, { recursive: true, force: true });
  }
  await mkdir(usersDir, { recursive: true });
  await writeFile(path.join(usersDir, String(process.pid)), '');
  const info = await devUp(TEST_STACK_CONFIG, (msg) => process.stderr.write(`[test stack] ${msg}\n`));
  const creds = await readCredentials(info);
  const stack: TestStack = {
    s3: { endpoint: info.s3.endpoint, bucket: info.s3.bucket, region: info.s3.region, ...creds },
    temporal: {
      address: info.temporal.address,
      namespace: info.temporal.namespace,
      uiUrl: info.temporal.uiUrl,
    },
  };
  project.provide('stack', stack);
  return async () => {
    await rm(path.join(usersDir, String(process.pid)), { force: true });
    const others = (await liveUsers()).filter((pid) => pid !== process.pid);
    if (others.length === 0 && process.env.SYNFARM_TEST_KEEP_STACK !== '1') await devDown(TEST_STACK_CONFIG);
  };
}
