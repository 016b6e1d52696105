// The onnxruntime sessions of one calibrator, on a thread of their own (see threaded-sessions.ts).
// onnxruntime-node runs a session synchronously on the calling thread: on the main thread a batch
// blocked Temporal's polls and workflow activations for hundreds of milliseconds.
// Plain JavaScript: a worker thread does not inherit the TypeScript loader the CLI registers.
import { parentPort, workerData } from 'node:worker_threads';

const ort = await import(workerData.packageName).then((m) => m.default ?? m);
const sessions = new Map();

/** A Float32Array that owns its whole buffer, so it can be transferred without copying. */
function owned(data) {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
}

async function handle(msg) {
  if (msg.type === 'create') {
    sessions.set(msg.name, await ort.InferenceSession.create(msg.model, msg.options));
    return { id: msg.id };
  }
  if (msg.type === 'run') {
    const session = sessions.get(msg.name);
    const out = await session.run({ input: new ort.Tensor('float32', msg.data, msg.dims) });
    const data = owned(out[session.outputNames[0]].data);
    return { id: msg.id, data, transfer: [data.buffer] };
  }
  if (msg.type === 'release') {
    await Promise.all([...sessions.values()].map((s) => s.release()));
    sessions.clear();
    return { id: msg.id };
  }
  throw new Error(`unknown message ${msg.type}`);
}

// One message at a time, in order: a session run is synchronous anyway.
let queue = Promise.resolve();
parentPort.on('message', (msg) => {
  queue = queue.then(async () => {
    try {
      const { transfer, ...reply } = await handle(msg);
      parentPort.postMessage(reply, transfer ?? []);
    } catch (err) {
      parentPort.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
});
parentPort.postMessage({ ready: ort.env?.versions?.common ?? 'unknown' });
