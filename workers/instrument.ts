import type { Readable } from 'node:stream';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import type { ModelProvider } from '../activities';
import type { CommitResult, StageResult } from '../activities/types';
import type { ObjectStore } from '../storage/object-store';
import type { WorkerMetrics } from './metrics';

/**
 * Metrics by wrapping what activities are given (their store, their models) and by an activity
 * interceptor on their results, so the activities themselves carry no metrics code.
 */

const byteLength = (body: Uint8Array | string) =>
  typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;

function errorKind(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown };
  return typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'unknown';
}

/** The same store, counting operations, bytes and failures by kind. */
export function instrumentStore(store: ObjectStore, m: WorkerMetrics): ObjectStore {
  const track = async <T>(op: string, run: () => Promise<T>): Promise<T> => {
    m.s3Requests.inc({ op });
    try {
      return await run();
    } catch (err) {
      m.s3Errors.inc({ op, kind: errorKind(err) });
      throw err;
    }
  };
  const out = (n: number) => m.s3Bytes.inc({ direction: 'out' }, n);
  const countIn = (stream: Readable): Readable =>
    stream.on('data', (chunk: Buffer) => m.s3Bytes.inc({ direction: 'in' }, chunk.byteLength));
  return {
    get url() {
      return store.url;
    },
    put: (key, body, o) => track('put', () => store.put(key, body, o)).then(() => out(byteLength(body))),
    putStream: (key, body, o) =>
      track('putStream', () => store.putStream(key, body, o)).then((r) => {
        out(r.bytes);
        return r;
      }),
    putIfAbsent: (key, body, o) =>
      track('putIfAbsent', () => store.putIfAbsent(key, body, o)).then((written) => {
        if (written) out(byteLength(body));
        return written;
      }),
    get: (key) =>
      track('get', () => store.get(key)).then((bytes) => {
        m.s3Bytes.inc({ direction: 'in' }, bytes.byteLength);
        return bytes;
      }),
    putIfMatch: (key, body, etag, o) =>
      track('putIfMatch', () => store.putIfMatch(key, body, etag, o)).then((written) => {
        if (written) out(byteLength(body));
        return written;
      }),
    getVersioned: (key) =>
      track('get', () => store.getVersioned(key)).then((got) => {
        m.s3Bytes.inc({ direction: 'in' }, got.body.byteLength);
        return got;
      }),
    getStream: (key, range) => track('getStream', () => store.getStream(key, range)).then(countIn),
    head: (key) => track('head', () => store.head(key)),
    list(prefix) {
      m.s3Requests.inc({ op: 'list' });
      const inner = store.list(prefix);
      return {
        async *[Symbol.asyncIterator]() {
          try {
            yield* inner;
          } catch (err) {
            m.s3Errors.inc({ op: 'list', kind: errorKind(err) });
            throw err;
          }
        },
      };
    },
    delete: (key) => track('delete', () => store.delete(key)),
    deletePrefix: (prefix) => track('deletePrefix', () => store.deletePrefix(prefix)),
    abortIncompleteUploads: (prefix) =>
      track('abortIncompleteUploads', () => store.abortIncompleteUploads(prefix)),
    publicUrl: (key, o) => store.publicUrl(key, o),
  };
}

async function timed<T>(m: WorkerMetrics, model: string, samples: number, run: () => Promise<T>): Promise<T> {
  const end = m.batchSeconds.startTimer({ model });
  try {
    return await run();
  } finally {
    end();
    m.batchSamples.inc({ model }, samples);
  }
}

/** The same models, with batch latency and load time recorded. */
export function instrumentModels(
  models: ModelProvider,
  m: WorkerMetrics,
  backend: () => string,
): ModelProvider {
  const loaded = <T>(kind: string, load: Promise<T>, started: number): Promise<T> =>
    load.then((v) => {
      m.modelLoadSeconds.observe({ model: kind, backend: backend() }, (performance.now() - started) / 1000);
      return v;
    });
  const seen = new WeakSet<object>();
  return {
    async generator(spec) {
      const t = performance.now();
      const g = await models.generator(spec);
      if (seen.has(g)) return g;
      seen.add(g);
      await loaded('generator', Promise.resolve(g), t);
      const generate = g.generate.bind(g);
      g.generate = (requests, options) =>
        timed(m, 'generator', requests.length, () => generate(requests, options));
      return g;
    },
    async calibrator(spec) {
      const t = performance.now();
      const c = await models.calibrator(spec);
      if (seen.has(c)) return c;
      seen.add(c);
      await loaded('calibrator', Promise.resolve(c), t);
      const calibrate = c.calibrate.bind(c);
      c.calibrate = (images, requests) =>
        timed(m, 'calibrator', images.length, () => calibrate(images, requests));
      return c;
    },
  };
}

/** The result fields counted; typed from the activities' own result types so a rename breaks the build. */
type Counts = Partial<
  Pick<StageResult, 'samples'> & Pick<CommitResult, 'alreadyCommitted' | 'rejectsByReason'>
>;

/** Counts samples from each activity's result (counts only cross the activity boundary). */
function countResult(m: WorkerMetrics, stage: string, result: unknown): void {
  const r = (result ?? {}) as Counts;
  if (typeof r.samples !== 'number') return;
  if (stage === 'generate') m.samplesGenerated.inc(r.samples);
  else if (stage === 'calibrate') m.samplesCalibrated.inc(r.samples);
  else if (stage === 'commit' && r.alreadyCommitted !== true) {
    m.samplesKept.inc(r.samples);
    for (const [reason, n] of Object.entries(r.rejectsByReason ?? {})) {
      if (typeof n === 'number') m.samplesRejected.inc({ reason }, n);
    }
  }
}

/** Stage latency and sample counts for every activity this worker runs. */
export function metricsInterceptor(m: WorkerMetrics): ActivityInterceptorsFactory {
  return (ctx) => {
    const stage = ctx.info.activityType;
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input, next) {
        const end = m.stageSeconds.startTimer({ stage });
        try {
          const result = await next(input);
          end({ outcome: 'ok' });
          countResult(m, stage, result);
          return result;
        } catch (err) {
          end({ outcome: 'failed' });
          throw err;
        }
      },
    };
    return { inbound };
  };
}
