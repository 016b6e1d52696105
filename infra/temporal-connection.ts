/**
 * How to reach Temporal, and the one mapping from it to the SDK's connection options. Both the
 * worker's NativeConnection and the client's Connection are built from `connectionOptions`, so a
 * setting that lets a worker reach Temporal (Cloud) lets launch, status and the rest reach it too.
 */
export interface TemporalTarget {
  address: string;
  namespace: string;
  /** PEM contents, not paths: the config layer (workers/config.ts resolveTargets) reads the files. */
  tls?: { cert?: Buffer; key?: Buffer; ca?: Buffer; serverName?: string };
  /** Temporal Cloud API key; implies TLS. Never logged or printed. */
  apiKey?: string;
}

/** Options for NativeConnection.connect and Connection.connect (the two accept the same shape). */
export function connectionOptions(t: TemporalTarget) {
  const tls = t.tls
    ? {
        serverNameOverride: t.tls.serverName,
        serverRootCACertificate: t.tls.ca,
        ...(t.tls.cert && t.tls.key ? { clientCertPair: { crt: t.tls.cert, key: t.tls.key } } : {}),
      }
    : t.apiKey
      ? true
      : undefined;
  return { address: t.address, ...(tls ? { tls } : {}), ...(t.apiKey ? { apiKey: t.apiKey } : {}) };
}
