import { describe, expect, it } from 'vitest';
import { parsePrompt } from '../models/procedural';

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
      lighting: { strength: 0.3, direction: 'top' },
    });
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
});
