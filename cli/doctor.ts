import type { Command } from 'commander';
import { loadWorkerConfig, resolveTargets } from '../workers/config';
import { formatCheck, runDoctor } from '../workers/doctor';
import { withWorkerConfigOptions } from './worker';

export function registerDoctorCommand(program: Command): void {
  const doctor = program
    .command('doctor')
    .description(
      "check a worker's configuration before it takes work: Temporal and namespace, S3 credentials and " +
        'a write to the bucket, TF.js backend and GPU, model files, clock, disk; exit 1 if a check fails',
    )
    .option('--json', 'machine-readable output');
  withWorkerConfigOptions(doctor).action(async (opts: Record<string, unknown>) => {
    const { config } = await loadWorkerConfig({ flags: opts, env: process.env });
    const results = await runDoctor(config, await resolveTargets(config));
    process.stdout.write(
      opts.json ? `${JSON.stringify(results, null, 2)}\n` : `${results.map(formatCheck).join('\n')}\n`,
    );
    if (results.some((r) => !r.ok)) process.exitCode = 1;
  });
}
