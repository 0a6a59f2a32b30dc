import { describe, expect, it } from 'vitest';
import { parseServer } from './server-address.js';

describe('parseServer', () => {
  it('reads the four forms, port 53 by default', () => {
    expect(parseServer('192.0.2.53')).toEqual({
      host: '192.0.2.53',
      port: 53,
      family: 4,
      label: '192.0.2.53:53',
    });
    expect(parseServer('192.0.2.53:5353')).toMatchObject({ host: '192.0.2.53', port: 5353 });
    expect(parseServer('2001:db8::53')).toEqual({
      host: '2001:db8::53',
      port: 53,
      family: 6,
      label: '[2001:db8::53]:53',
    });
    expect(parseServer('[2001:db8::53]:5353')).toMatchObject({
      host: '2001:db8::53',
      port: 5353,
      family: 6,
    });
  });

  it('refuses host names, bad ports and brackets around IPv4', () => {
    for (const bad of [
      'resolver.example',
      '192.0.2.53:0',
      '192.0.2.53:70000',
      '[192.0.2.53]:53',
      '',
    ]) {
      expect(() => parseServer(bad), bad).toThrow(TypeError);
    }
  });
});
