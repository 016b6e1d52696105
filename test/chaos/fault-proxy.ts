import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * TEST DOUBLE: an S3 fault proxy between the workers and versitygw. Nothing else can make a real
 * S3 server throttle, reset a connection half-way through a body or send half a response on
 * cue, so this small HTTP proxy does it, on a seeded schedule, and counts what it did.
 *
 * It forwards requests unchanged (the Host header too, so SigV4 signatures still verify) and,
 * while armed, picks some of them for a fault. Each (operation, fault) pair is owed at least
 * once per arming; a single object key or part gets at most MAX_FAULTS_PER_TARGET failing faults
 * in a row, so the SDK's own retries (5 attempts) can get through and the faults test recovery
 * rather than merely exhaust it.
 */
export const S3_OPS = ['put', 'part', 'get'] as const;
export type S3Op = (typeof S3_OPS)[number];
export const S3_FAULTS = ['slowdown', 'reset', 'truncate', 'stall'] as const;
export type S3Fault = (typeof S3_FAULTS)[number];

const MAX_FAULTS_PER_TARGET = 3;

export interface FaultProxyOptions {
  upstream: string;
  port: number;
  /** Seeded random numbers in [0, 1). */
  random: () => number;
  /** Chance that a request gets a fault once every owed pair was injected. */
  rate: number;
  /** Stall length range, ms. */
  stallMs: [number, number];
}

export type FaultCounts = Record<S3Op, Record<S3Fault, number>>;

function classify(req: IncomingMessage): { op: S3Op; target: string } | undefined {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const segments = url.pathname.split('/').filter(Boolean);
  if (segments.length < 2) return undefined; // bucket-level: list, create bucket, multipart listing
  const q = url.searchParams;
  if (req.method === 'PUT' && q.has('partNumber') && q.has('uploadId'))
    return { op: 'part', target: `${url.pathname}#${q.get('uploadId')}#${q.get('partNumber')}` };
  if (req.method === 'PUT' && !req.headers['x-amz-copy-source']) return { op: 'put', target: url.pathname };
  if (req.method === 'GET' && !q.has('uploadId')) return { op: 'get', target: url.pathname };
  return undefined;
}

const SLOWDOWN = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>chaos</RequestId></Error>`;

export class S3FaultProxy {
  readonly counts: FaultCounts = Object.fromEntries(
    S3_OPS.map((op) => [op, Object.fromEntries(S3_FAULTS.map((f) => [f, 0]))]),
  ) as FaultCounts;
  readonly requests: Record<S3Op | 'other', number> = { put: 0, part: 0, get: 0, other: 0 };
  #armed = false;
  #owed: Array<[S3Op, S3Fault]> = [];
  #streak = new Map<string, number>();
  #onPart: (() => Promise<void>) | undefined;
  #server: Server | undefined;
  readonly #upstream: URL;

  constructor(private readonly options: FaultProxyOptions) {
    this.#upstream = new URL(options.upstream);
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        req.socket.destroy();
      });
    });
    // Keep-alive sockets from the SDK must not hold the proxy open at close.
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** From now on, faults: every (op, fault) pair owed once more, then random ones at `rate`. */
  arm(): void {
    this.#armed = true;
    this.#owed = S3_OPS.flatMap((op) => S3_FAULTS.map((f): [S3Op, S3Fault] => [op, f]));
    // Seeded order, so which request gets which fault follows the seed.
    for (let i = this.#owed.length - 1; i > 0; i--) {
      const j = Math.floor(this.options.random() * (i + 1));
      [this.#owed[i], this.#owed[j]] = [this.#owed[j]!, this.#owed[i]!];
    }
  }

  disarm(): void {
    this.#armed = false;
  }

  /** Pairs not injected yet since the last arm(). */
  get owed(): ReadonlyArray<[S3Op, S3Fault]> {
    return this.#owed;
  }

  /**
   * Once: the next multipart part request is held while `hook` runs (the harness SIGKILLs the
   * uploading worker there), then dropped, as a part in flight is when its process dies.
   */
  onNextPart(hook: () => Promise<void>): void {
    this.#onPart = hook;
  }

  get address(): AddressInfo | undefined {
    return this.#server?.address() as AddressInfo | undefined;
  }

  #choose(op: S3Op, target: string): S3Fault | undefined {
    if (!this.#armed) return undefined;
    const streak = this.#streak.get(target) ?? 0;
    if (streak >= MAX_FAULTS_PER_TARGET) {
      this.#streak.set(target, 0);
      return undefined;
    }
    const owedAt = this.#owed.findIndex(([o]) => o === op);
    let fault: S3Fault | undefined;
    if (owedAt >= 0) {
      fault = this.#owed[owedAt]![1];
      this.#owed.splice(owedAt, 1);
    } else if (this.options.random() < this.options.rate) {
      fault = S3_FAULTS[Math.floor(this.options.random() * S3_FAULTS.length)];
    }
    // A stall delays but does not fail, so it does not count toward the streak.
    this.#streak.set(target, fault && fault !== 'stall' ? streak + 1 : 0);
    if (fault) this.counts[op][fault]++;
    return fault;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const kind = classify(req);
    this.requests[kind?.op ?? 'other']++;
    if (kind?.op === 'part' && this.#onPart) {
      const hook = this.#onPart;
      this.#onPart = undefined;
      await hook();
      req.socket.destroy();
      return;
    }
    const fault = kind ? this.#choose(kind.op, kind.target) : undefined;
    if (fault === 'slowdown') {
      req.resume();
      res.writeHead(503, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(SLOWDOWN),
      });
      res.end(SLOWDOWN);
      return;
    }
    if (fault === 'reset' && kind?.op !== 'get') {
      // Half the body arrives, then the connection dies under the client.
      const length = Number(req.headers['content-length'] ?? 0);
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= length / 2) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy());
      return;
    }
    if (fault === 'stall' && kind?.op !== 'get') await sleep(this.#stallMs());
    await this.#forward(req, res, kind?.op === 'get' ? fault : fault === 'truncate' ? 'truncate' : undefined);
  }

  #stallMs(): number {
    const [lo, hi] = this.options.stallMs;
    return Math.round(lo + this.options.random() * (hi - lo));
  }

  /** Forwards to versitygw; a response fault cuts, resets or stalls the answer half-way. */
  #forward(req: IncomingMessage, res: ServerResponse, fault: S3Fault | undefined): Promise<void> {
    return new Promise((resolve) => {
      const up = request(
        {
          host: this.#upstream.hostname,
          port: this.#upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (upRes) => {
          if (fault === 'truncate' && req.method === 'PUT') {
            this.#truncatedAnswer(upRes, req.socket);
            upRes.on('end', () => resolve());
            return;
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          const length = Number(upRes.headers['content-length'] ?? 0);
          if (!fault || length === 0) {
            upRes.pipe(res);
            upRes.on('end', () => resolve());
            return;
          }
          this.#cutResponse(upRes, res, fault, length).then(resolve, resolve);
        },
      );
      up.on('error', () => {
        // versitygw is down (a deliberate SIGKILL): the client sees a dropped connection.
        req.socket.destroy();
        resolve();
      });
      req.pipe(up);
    });
  }

  async #cutResponse(
    upRes: IncomingMessage,
    res: ServerResponse,
    fault: S3Fault,
    length: number,
  ): Promise<void> {
    const half = Math.max(1, Math.floor(length / 2));
    let sent = 0;
    let cut = false;
    for await (const chunk of upRes as AsyncIterable<Buffer>) {
      if (cut || sent + chunk.length < half) {
        res.write(chunk);
        sent += chunk.length;
        continue;
      }
      const head = chunk.subarray(0, half - sent);
      res.write(head);
      cut = true;
      if (fault === 'stall') {
        await sleep(this.#stallMs());
        res.write(chunk.subarray(head.length));
        sent += chunk.length;
        continue;
      }
      upRes.destroy();
      // truncate: a clean FIN before Content-Length bytes; reset: the socket torn down.
      if (fault === 'truncate') res.socket?.end();
      else res.socket?.destroy();
      return;
    }
    res.end();
  }

  /** The write happened upstream, but the client gets only the start of a status line. */
  #truncatedAnswer(upRes: IncomingMessage, socket: Socket): void {
    upRes.resume();
    upRes.on('end', () => socket.end('HTTP/1.1 200 OK\r\nETag: "'));
  }
}
