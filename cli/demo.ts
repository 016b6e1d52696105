import type { Command } from 'commander';
import { FarmClient } from '../client/runs';
import { devUp, readCredentials } from '../infra/dev-stack';
import { PROJECT_ROOT } from '../infra/paths';
import { RunReportSchema } from '../report';
import { RunObjects } from '../run/objects';
import { loadSpec, RunIdSchema } from '../spec';
import type { ObjectStore } from '../storage/object-store';
import { startWorker } from '../workers/start';
import { formatRejects } from './output';
import { watchRun } from './runs';

/** Face detection and SynFER's FER-accuracy metric from the run's report.json. */
async function qualityLine(store: ObjectStore, runId: string): Promise<string> {
  try {
    const objects = new RunObjects(store, runId);
    const report = await objects.requireJson(
      objects.keys.report,
      RunReportSchema,
      'a completed run writes it',
    );
    const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
    return `face detected ${pct(report.faceDetectionRate)}, FER accuracy ${pct(report.ferAccuracy.overall)} (details: synfarm report ${runId})`;
  } catch {
    return `see: synfarm report ${runId}`;
  }
}

/**
 * The README's main job: the dev stack, an in-process worker for all three queues, and one
 * small real run from examples/specs/demo.yaml under a fresh run id, followed to the end.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'bring up the dev stack and run examples/specs/demo.yaml end to end with an in-process worker',
    )
    .option('--spec <file>', 'another spec to run', `${PROJECT_ROOT}/examples/specs/demo.yaml`)
    .action(async (opts: { spec: string }) => {
      const info = await devUp({}, (msg) => process.stderr.write(`${msg}\n`));
      const s3 = {
        endpoint: info.s3.endpoint,
        region: info.s3.region,
        credentials: await readCredentials(info),
      };
      const base = await loadSpec(opts.spec);
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
      // A fresh run id per invocation, so every `npm start` does the whole job again.
      const spec = { ...base, runId: RunIdSchema.parse(`${base.runId}-${stamp}`.slice(0, 63)) };

      const worker = await startWorker({
        temporal: info.temporal,
        s3,
        serve: ['workflows', 'gpu', 'cpu'],
        shutdownGraceTime: '5s',
      });
      const client = await FarmClient.connect({ temporal: info.temporal, s3 });
      const started = Date.now();
      try {
        process.stdout.write(
          `run ${spec.runId}: ${spec.targetSamples} samples in ${spec.shardCount} shards (${spec.generator.backend} generator, ${spec.calibrator.backend} calibrator)\n`,
        );
        const { uiUrl } = await client.launch(spec);
        if (uiUrl) process.stdout.write(`watch it in the Temporal UI: ${uiUrl}\n`);
        const status = await watchRun(client, spec.runId, spec.output);
        const seconds = (Date.now() - started) / 1000;
        const store = client.store(spec.output);
        process.stdout.write(
          `${[
            `${status.workflow === 'completed' ? 'done' : `ended: ${status.workflow}`} in ${seconds.toFixed(1)} s`,
            `committed  ${status.committed.shards}/${status.committed.plannedShards} shards, ${status.committed.samples} samples`,
            `rejects    ${formatRejects(status.rejectsByReason)}`,
            `quality    ${await qualityLine(store, spec.runId)}`,
            `shards     ${store.url}/${spec.runId}/shards/`,
            `manifest   ${store.url}/${spec.runId}/manifest.json`,
            `report     ${store.url}/${spec.runId}/report.html (contact sheets, class mix, confusion; opens offline)`,
            `next       synfarm status ${spec.runId} | synfarm dev down`,
          ].join('\n')}\n`,
        );
        if (status.workflow !== 'completed') process.exitCode = 1;
      } finally {
        await worker.stop();
        await client.close();
      }
    });
}
