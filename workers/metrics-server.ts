import { createServer, type Server } from 'node:http';

/**
 * One Prometheus endpoint per worker node, whatever its process count: synfarm's own metrics
 * (prom-client text, summed over the pool's processes) followed by each process's Temporal SDK
 * metrics, fetched from the SDK's loopback-only exporter and labelled `process="i"`.
 */

/** A source of exposition text; `process` labels every sample when set. */
export interface MetricsSource {
  text(): Promise<string>;
  process?: string;
}

interface Family {
  meta: string[];
  samples: string[];
}

function labelled(sample: string, label: string): string {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{)?/.exec(sample);
  if (!m) return sample;
  const name = m[1]!;
  return m[2]
    ? `${name}{${label},${sample.slice(name.length + 1)}`.replace(',}', '}')
    : `${name}{${label}}${sample.slice(name.length)}`;
}

/**
 * Merges exposition texts so each metric family appears once (HELP/TYPE once, then every
 * source's samples): concatenating them would repeat families, which Prometheus refuses.
 */
export function mergeExpositions(parts: { text: string; process?: string }[]): string {
  const families = new Map<string, Family>();
  for (const part of parts) {
    let current: Family | undefined;
    for (const line of part.text.split('\n')) {
      if (line.trim() === '') continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        const name = meta[2]!;
        let f = families.get(name);
        if (!f) {
          f = { meta: [], samples: [] };
          families.set(name, f);
        }
        if (!f.meta.some((l) => l.startsWith(`# ${meta[1]} `))) f.meta.push(line);
        current = f;
        continue;
      }
      if (line.startsWith('#')) continue;
      if (!current) {
        const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? line;
        current = families.get(name) ?? { meta: [], samples: [] };
        families.set(name, current);
      }
      current.samples.push(part.process ? labelled(line, `process="${part.process}"`) : line);
    }
  }
  return `${[...families.values()].flatMap((f) => [...f.meta, ...f.samples]).join('\n')}\n`;
}

/** Fetches a Temporal SDK exporter's text; an unreachable one contributes nothing (it may be restarting). */
export function temporalSource(bindAddress: string, process: string): MetricsSource {
  return {
    process,
    async text() {
      try {
        const res = await fetch(`http://${bindAddress}/metrics`, { signal: AbortSignal.timeout(2000) });
        return res.ok ? await res.text() : '';
      } catch {
        return '';
      }
    },
  };
}

export async function serveMetrics(port: number, sources: () => MetricsSource[]): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics' && req.url !== '/') {
      res.writeHead(404).end('metrics are at /metrics\n');
      return;
    }
    const all = sources();
    Promise.all(all.map(async (s) => ({ text: await s.text(), process: s.process })))
      .then((parts) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(mergeExpositions(parts));
      })
      .catch((err: Error) => res.writeHead(500).end(`metrics failed: ${err.message}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        Object.assign(
          new Error(
            `--metrics-port ${port}: cannot listen (${err.code ?? err.message}); choose a free port or leave metrics off`,
          ),
          { code: 'metrics-port' },
        ),
      ),
    );
    server.listen(port, '0.0.0.0', () => resolve());
  });
  return server;
}

/** Temporal's exporter for process i binds loopback, port P+1+i: only the merged endpoint is public. */
export function temporalBindAddress(metricsPort: number, index: number): string {
  return `127.0.0.1:${metricsPort + 1 + index}`;
}
