import { describe, expect, it } from 'vitest';
import { REPLY_CATALOGUE, reply, replyClass } from './replies.js';

describe('reply catalogue', () => {
  it('gives every reply a valid code and an enhanced code of the same class', () => {
    for (const [name, spec] of Object.entries(REPLY_CATALOGUE)) {
      expect(spec.code, name).toBeGreaterThanOrEqual(200);
      expect(spec.code, name).toBeLessThan(600);
      if ('enhanced' in spec) {
        expect(spec.enhanced, name).toMatch(/^[245]\.\d{1,3}\.\d{1,3}$/);
        expect(Number(spec.enhanced[0]), name).toBe(replyClass(spec.code));
      }
      expect(spec.rfc, name).toMatch(/RFC \d+/);
    }
  });

  it('builds a reply with the catalogue text or a replacement', () => {
    expect(reply('relayDenied')).toEqual({
      code: 554,
      enhanced: '5.7.1',
      lines: ['Relay access denied'],
      name: 'relayDenied',
    });
    expect(reply('queued', 'Ok: queued as 01J').lines).toEqual(['Ok: queued as 01J']);
  });
});
