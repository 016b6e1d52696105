import { createHash } from 'node:crypto';
import type { Spec } from './schema';

/** JSON with object keys sorted at every level and no whitespace: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/**
 * sha256 (hex) of the resolved spec's canonical JSON. Two specs that resolve alike ("5x affectnet"
 * and 1438255, classes listed in any order) have the same digest, so a launch can tell a repeat of
 * a run from a different spec reusing its run id.
 */
export function specDigest(spec: Spec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}
