import { z } from 'zod';

/**
 * A committed shard's sidecar. Written last, after the tar is complete, so its existence is
 * the commit marker (as img2dataset's per-shard stats file is): consumers and resume logic
 * treat a shard as present only when this exists and matches the tar.
 */
export const SidecarSchema = z.object({
  format: z.literal('synfarm-shard-v1'),
  runId: z.string(),
  shard: z.number().int().min(0),
  tar: z.string(),
  samples: z.number().int().min(0),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  planned: z.number().int().min(0),
  shortfall: z.number().int().min(0),
  rounds: z.number().int().min(1),
  /** Calibrated class index -> samples, AffectNet order. */
  classHistogram: z.array(z.number().int().min(0)),
  rejectsByReason: z.record(z.string(), z.number().int().min(0)),
  keys: z.object({ first: z.string().nullable(), last: z.string().nullable() }),
});
export type Sidecar = z.infer<typeof SidecarSchema>;

export function parseSidecar(bytes: Uint8Array | string): Sidecar {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);
  return SidecarSchema.parse(JSON.parse(text));
}
