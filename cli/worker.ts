import type { Command } from 'commander';
import { describeConfig, loadWorkerConfig, resolveTargets } from '../workers/config';
import { processCount, serveWorker } from '../workers/serve';

/**
 * `synfarm worker`. No option has a commander default: an option left out must not hide the
 * environment or the config file (precedence flags > env > file > defaults, in workers/config.ts).
 */
/** The worker's settings as options; `synfarm doctor` takes the same, so it checks the same config. */
export function withWorkerConfigOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'YAML or JSON file with worker settings (env SYNFARM_CONFIG)')
    .option('--queues <list>', 'all, or a comma list of workflows,gpu,cpu (env SYNFARM_QUEUES; default all)')
    .option(
      '--queue-prefix <prefix>',
      'task-queue prefix, must match the launcher (env SYNFARM_QUEUE_PREFIX)',
    )
    .option(
      '--processes <n>',
      'worker processes on this node, supervised and restarted if they die (env SYNFARM_PROCESSES; ' +
        'default: one per core with wasm/cpu TF.js, 1 with tfjs-node(-gpu), --gpu, or workflows only)',
    )
    .option('--gpu <index>', 'pin to one GPU: sets CUDA_VISIBLE_DEVICES before TF.js loads (env SYNFARM_GPU)')
    .option(
      '--tfjs-backend <name>',
      'node-gpu | node | wasm | cpu (env SYNFARM_TFJS_BACKEND; default: best installed)',
    )
    .option(
      '--gpu-concurrency <n>',
      'generate/calibrate tasks at once per process, size to the device (env SYNFARM_GPU_CONCURRENCY; default 2)',
    )
    .option(
      '--cpu-concurrency <n>',
      'filter/commit tasks at once per process (env SYNFARM_CPU_CONCURRENCY; default 8)',
    )
    .option(
      '--workflow-concurrency <n>',
      'workflow tasks at once (env SYNFARM_WORKFLOW_CONCURRENCY; default: SDK)',
    )
    .option(
      '--part-cache-mib <n>',
      'memory per process for staged parts its later stages read back instead of fetching (env SYNFARM_PART_CACHE_MIB; default 64; 0 = off)',
    )
    .option(
      '--workflow-bundle <file>',
      'workflow code bundled ahead of time by npm run build:workflows (env SYNFARM_WORKFLOW_BUNDLE)',
    )
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics on this port, /metrics; Temporal SDK metrics use loopback ports port+1..port+N ' +
        '(env SYNFARM_METRICS_PORT; default off)',
    )
    .option(
      '--temporal-address <host:port>',
      'Temporal frontend (env SYNFARM_TEMPORAL_ADDRESS or TEMPORAL_ADDRESS; default: the dev stack); ' +
        'a Temporal Cloud API key is read from env SYNFARM_TEMPORAL_API_KEY only, never a flag',
    )
    .option('--namespace <name>', 'Temporal namespace (env SYNFARM_TEMPORAL_NAMESPACE; default "default")')
    .option('--tls-cert <file>', 'client certificate PEM for mutual TLS (env SYNFARM_TEMPORAL_TLS_CERT)')
    .option('--tls-key <file>', 'client key PEM for mutual TLS (env SYNFARM_TEMPORAL_TLS_KEY)')
    .option(
      '--tls-ca <file>',
      'CA certificate PEM the server is checked against (env SYNFARM_TEMPORAL_TLS_CA)',
    )
    .option('--tls-server-name <name>', 'TLS server name override (env SYNFARM_TEMPORAL_TLS_SERVER_NAME)')
    .option(
      '--s3-endpoint <url>',
      'S3-compatible endpoint (env SYNFARM_S3_ENDPOINT, AWS_ENDPOINT_URL_S3; default AWS); ' +
        'credentials: the AWS SDK chain (AWS_* env, profile, SSO, role)',
    )
    .option('--s3-region <region>', 'S3 region (env AWS_REGION; default us-east-1)')
    .option('--s3-bucket <bucket>', 'bucket synfarm doctor checks for writes (env SYNFARM_S3_BUCKET)');
}

export function registerWorkerCommand(program: Command): void {
  const worker = program
    .command('worker')
    .description(
      'serve task queues: workflows, gpu (generate, calibrate), cpu (filter, commit, manifest); ' +
        'settings from flags > env > --config file > defaults (docs/worker-config.md)',
    );
  withWorkerConfigOptions(worker)
    .option(
      '--print-config',
      'print the resolved settings (secrets masked) and where each came from, then exit',
    )
    .action(async (opts: Record<string, unknown>) => {
      const loaded = await loadWorkerConfig({ flags: opts, env: process.env });
      if (opts.printConfig) {
        const targets = await resolveTargets(loaded.config);
        const { processes, why } = processCount(loaded);
        process.stdout.write(
          `${describeConfig(loaded, {
            resolved: {
              temporal: targets.temporal.address,
              namespace: targets.temporal.namespace,
              tls: Boolean(targets.temporal.tls || targets.temporal.apiKey),
              s3Endpoint: targets.s3.endpoint ?? 'AWS default for the region',
              s3Credentials: targets.devStack.s3 ? 'dev stack (generated keys)' : 'AWS SDK default chain',
              processes: `${processes} (${why})`,
            },
          })}\n`,
        );
        return;
      }
      const delay = Number(process.env.SYNFARM_TEST_PART_DELAY_MS ?? 0);
      process.exitCode = await serveWorker(loaded, { testPartDelayMs: delay });
    });
}
