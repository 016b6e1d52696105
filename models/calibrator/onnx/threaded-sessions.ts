import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';

interface Reply {
  id: number;
  data?: Float32Array;
  error?: string;
}

/**
 * onnxruntime sessions on a worker thread (session-thread.mjs), so a forward pass never blocks
 * this thread's event loop: Temporal's polls, heartbeats and workflow activations go on while a
 * batch runs. Requests are served in order; the thread holds the process open only while one
 * is pending.
 */
export class ThreadedSessions {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  #next = 0;
  #failed: Error | undefined;

  readonly #ready: Promise<void>;

  private constructor(worker: Worker) {
    this.#worker = worker;
    let ready!: () => void;
    this.#ready = new Promise<void>((resolve) => {
      ready = resolve;
    });
    worker.on('message', (reply: Reply | { ready: string }) => {
      if ('ready' in reply) ready();
      else this.#settle(reply);
    });
    worker.on('error', (err) => this.#fail(err));
    worker.on('exit', (code) => this.#fail(new Error(`the onnxruntime thread exited (code ${code})`)));
  }

  /** Starts the thread and waits until onnxruntime loaded in it (rejects when it cannot). */
  static async start(packageName: string): Promise<ThreadedSessions> {
    const sessions = new ThreadedSessions(
      new Worker(new URL('./session-thread.mjs', import.meta.url), { workerData: { packageName } }),
    );
    await Promise.race([
      sessions.#ready,
      new Promise<never>((_, reject) => {
        sessions.#onFailure = reject;
      }),
    ]);
    sessions.#onFailure = undefined;
    sessions.#worker.unref();
    return sessions;
  }

  #onFailure: ((err: Error) => void) | undefined;

  async create(name: string, model: Uint8Array, options: InferenceSession.SessionOptions): Promise<void> {
    await this.#request({ type: 'create', name, model, options });
  }

  /** One forward pass of session `name` on `data` shaped `dims`; the output's first tensor. */
  async run(name: string, data: Float32Array, dims: readonly number[]): Promise<Float32Array> {
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
    const reply = await this.#request({ type: 'run', name, data: whole, dims }, [
      whole.buffer as ArrayBuffer,
    ]);
    return reply.data!;
  }

  async close(): Promise<void> {
    if (!this.#failed) await this.#request({ type: 'release' }).catch(() => undefined);
    this.#failed ??= new Error('the onnxruntime thread was closed');
    // Held open until it is gone: an unreferenced thread's exit would not keep the caller waiting.
    this.#worker.ref();
    await this.#worker.terminate();
  }

  #request(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    if (this.#pending.size === 0) this.#worker.ref();
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...message, id }, transfer);
    });
  }

  #settle(reply: Reply): void {
    const waiter = this.#pending.get(reply.id);
    if (!waiter) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (reply.error !== undefined) waiter.reject(new Error(reply.error));
    else waiter.resolve(reply);
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    this.#onFailure?.(err);
    for (const { reject } of this.#pending.values()) reject(err);
    this.#pending.clear();
  }
}
