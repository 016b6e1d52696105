import { describe, expect, it } from 'vitest';
import { parsePrompt } from '../models/procedural';
import { resolveIdentity } from '../models/procedural/generator';
import { createPlan } from '../plan';
import { resolveSpec } from '../spec';

describe('procedural prompt parsing', () => {
  it('reads identity attributes from free text', () => {
    const p = parsePrompt(
      'Young woman with long blonde hair, blue eyes and glasses in an office, soft top light',
    );
    expect(p.overrides).toMatchObject({
      ageBand: 'young adult',
      gender: 'feminine',
      hair: 'long light',
      eyeColor: 'blue',
      glasses: true,
      background: 'office',
      lighting: { direction: 'top' },
    });
    expect(p.overrides.lightStrength?.[1]).toBeLessThan(0.6);
    expect(p.ignored).toEqual([]);
  });

  it('prefers phrases over single words, so dark hair is not a dark backdrop', () => {
    const p = parsePrompt('man with dark hair against a dark backdrop');
    expect(p.overrides.hair).toBe('short dark');
    expect(p.overrides.background).toBe('dark backdrop');
    expect(p.used).toEqual(['man', 'dark hair', 'dark backdrop']);
  });

  it('reports words it cannot draw as ignored, including expression words', () => {
    const p = parsePrompt('an angry astronaut wearing a red hat');
    expect(p.ignored).toEqual(['angry', 'astronaut', 'red', 'hat']);
    expect(p.used).toEqual([]);
    expect(p.overrides).toEqual({});
  });

  it('lets negations switch attributes off', () => {
    expect(parsePrompt('clean shaven, no glasses').overrides).toEqual({ facialHair: 'none', glasses: false });
  });

  it('marks an unsided side light for the renderer to place', () => {
    expect(parsePrompt('warm side light').overrides).toMatchObject({
      sideLight: true,
      lighting: { warmth: 'warm' },
    });
  });

  it("reads the planner's own prompts back as the identity they were written for", () => {
    // The renderer draws the identity its prompt names; a prompt misread draws another person
    // than the plan (and the sample's metadata) says: once "fair", "light brown", "olive" and
    // "dark brown skin" were read as other tones, so four of six planned tones were never drawn.
    const spec = resolveSpec({ runId: 'prompt-roundtrip', target: 4000, output: 'file:///tmp/unused' });
    const requests = createPlan(spec).planShard(0).concat(createPlan(spec).planShard(1));
    const misread = requests.filter(
      (r) => JSON.stringify(resolveIdentity(r).identity) !== JSON.stringify(r.identity),
    );
    expect(misread.map((r) => ({ prompt: r.prompt, planned: r.identity })).slice(0, 3)).toEqual([]);
    expect(new Set(requests.map((r) => resolveIdentity(r).identity.skinTone)).size).toBe(6);
  });

  it('keeps phrases inside their clause, and light words as bands around the planned strength', () => {
    expect(parsePrompt('head turned slightly to the right, light from above').overrides).toEqual({});
    expect(parsePrompt('right light').overrides).toEqual({ lighting: { direction: 'right' } });
    const request = createPlan(
      resolveSpec({ runId: 'light', target: 8, output: 'file:///tmp/unused' }),
    ).planShard(0)[0]!;
    const strength = (planned: number, prompt: string) =>
      resolveIdentity({
        ...request,
        identity: { ...request.identity, lighting: { ...request.identity.lighting, strength: planned } },
        prompt,
      }).identity.lighting.strength;
    // Inside the band the planned strength stays, at any precision; outside it moves to the band.
    expect(strength(0.595, 'soft light')).toBe(0.595);
    expect(strength(0.1, 'soft light')).toBe(0.1);
    expect(strength(0.855, 'bright light')).toBe(0.855);
    const softened = strength(0.9, 'soft light');
    expect(softened).toBeLessThan(0.6);
    expect(softened).toBeGreaterThan(0.5999);
  });
});
