import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * synfarm's own worker metrics (Temporal's SDK metrics come from its runtime, see
 * workers/metrics-server.ts). One registry per process; the pool's supervisor sums the
 * children's (counters and histograms add up; the backend gauge counts processes per backend).
 */
export function createWorkerMetrics() {
  const registry = new Registry();
  const registers = [registry];
  const stageBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];
  return {
    registry,
    samplesGenerated: new Counter({
      name: 'synfarm_samples_generated_total',
      help: 'Samples the generate stage stored (a retried stage counts parts it resumed again).',
      registers,
    }),
    samplesCalibrated: new Counter({
      name: 'synfarm_samples_calibrated_total',
      help: 'Samples the calibrate stage labelled.',
      registers,
    }),
    samplesKept: new Counter({
      name: 'synfarm_samples_kept_total',
      help: 'Samples committed into shards by this worker (equals the sidecars’ counts).',
      registers,
    }),
    samplesRejected: new Counter({
      name: 'synfarm_samples_rejected_total',
      help: 'Samples the filter rejected, by reason, as recorded in committed sidecars.',
      labelNames: ['reason'] as const,
      registers,
    }),
    stageSeconds: new Histogram({
      name: 'synfarm_stage_duration_seconds',
      help: 'Wall time of one activity (one stage of one shard round), by stage and outcome.',
      labelNames: ['stage', 'outcome'] as const,
      buckets: stageBuckets,
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'synfarm_batch_duration_seconds',
      help: 'Wall time of one model batch: generator or calibrator.',
      labelNames: ['model'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    batchSamples: new Counter({
      name: 'synfarm_batch_samples_total',
      help: 'Samples passed through model batches, by model (with the histogram: samples per second).',
      labelNames: ['model'] as const,
      registers,
    }),
    modelLoadSeconds: new Histogram({
      name: 'synfarm_model_load_seconds',
      help: 'Time to load one model set (once per process and settings).',
      labelNames: ['model', 'backend'] as const,
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    tfjsBackend: new Gauge({
      name: 'synfarm_tfjs_backend_info',
      help: 'Worker processes per active TF.js backend and device (1 per process).',
      labelNames: ['backend', 'version', 'device'] as const,
      registers,
    }),
    s3Requests: new Counter({
      name: 'synfarm_s3_requests_total',
      help: 'Object-store operations by kind (a multipart upload counts once; SDK retries are inside).',
      labelNames: ['op'] as const,
      registers,
    }),
    s3Errors: new Counter({
      name: 'synfarm_s3_errors_total',
      help: 'Object-store operations that failed, by operation and error kind (error code).',
      labelNames: ['op', 'kind'] as const,
      registers,
    }),
    s3Bytes: new Counter({
      name: 'synfarm_s3_bytes_total',
      help: 'Object bytes moved, by direction (in: read from the store, out: written to it).',
      labelNames: ['direction'] as const,
      registers,
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
