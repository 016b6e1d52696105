import { AU_MAX_INTENSITY, type AuId, EMFACS_PROTOTYPES } from '../plan/expressions';
import type { SampleRequest, Steering } from '../plan/request';
import type { Guidance, GuidanceApplied } from './schema';

const round2 = (x: number) => Math.round(x * 100) / 100;
const clamp05 = (x: number) => Math.min(AU_MAX_INTENSITY, Math.max(0, x));

export interface GuidedRequest {
  request: SampleRequest;
  /** Undefined when the request's class had no guidance or nothing changed. */
  applied?: GuidanceApplied;
}

/**
 * Steers planned requests (procedural backend): each class's prototype AUs are multiplied by
 * its gain and the confusing AUs by the suppress factor, clamped to 0..5 and rounded as the
 * planner rounds. Pure: the same requests and guidance give the same result.
 */
export function applyGuidance(
  requests: readonly SampleRequest[],
  guidance: Guidance | undefined,
): GuidedRequest[] {
  return requests.map((request) => {
    const g = guidance?.classes[request.className];
    if (!g) return { request };
    const aus = { ...request.aus };
    const changed: GuidanceApplied['changed'] = {};
    const set = (au: AuId, value: number) => {
      const before = aus[au] ?? 0;
      const after = round2(clamp05(value));
      if (after !== before) {
        aus[au] = after;
        changed[au] = [before, after];
      }
    };
    for (const au of EMFACS_PROTOTYPES[request.className]) set(au, (aus[au] ?? 0) * g.gain);
    const prototype = new Set<AuId>(EMFACS_PROTOTYPES[request.className]);
    // The class's own prototype is never suppressed, whatever a hand-written guidance file says.
    for (const au of g.suppress) if (!prototype.has(au)) set(au, (aus[au] ?? 0) * g.suppressFactor);
    // A dropped jaw always parts the lips (as the planner keeps it).
    if ((aus.AU26 ?? 0) > 0 && (aus.AU25 ?? 0) < 1) set('AU25', 1);
    if (Object.keys(changed).length === 0) return { request };
    return {
      request: { ...request, aus },
      applied: { round: guidance!.round, gain: g.gain, confusedWith: g.confusedWith, changed },
    };
  });
}

/**
 * The same steering for backends that take text and AUs from a server (`http`): a `guidance`
 * field the server may use (e.g. in its semantic guidance step), since it cannot be applied
 * to pixels here.
 */
export function guidanceHint(request: SampleRequest, guidance: Guidance | undefined): Steering | undefined {
  const g = guidance?.classes[request.className];
  if (!g) return undefined;
  return {
    targetClass: request.className,
    avoidClass: g.confusedWith,
    gain: g.gain,
    emphasise: [...EMFACS_PROTOTYPES[request.className]],
    suppress: g.suppress,
  };
}
