import { DEFAULT_LIMITS, parsePath, type Path } from '@petrel/smtp';
import { describe, expect, it } from 'vitest';
import { dsnAddress } from './address.js';
import { DsnError } from './dsn-error.js';

function path(text: string, kind: 'reverse' | 'forward' = 'reverse'): Path {
  const r = parsePath(text, { kind, utf8Allowed: true, limits: DEFAULT_LIMITS });
  if (!r.ok) throw new Error(r.error);
  return r.path;
}

describe('dsnAddress', () => {
  it('gives the mailbox without brackets or source route', () => {
    expect(dsnAddress(path('<@relay.example,@hop.example:Alice@Example.ORG>'))).toBe(
      'Alice@example.org',
    );
    expect(dsnAddress(path('<"alice jones"@example.org>'))).toBe('"alice jones"@example.org');
    expect(dsnAddress(path('<jürgen@bücher.example>'))).toBe('jürgen@bücher.example');
    expect(dsnAddress(path('<user@[IPv6:2001:db8::1]>'))).toBe('user@[IPv6:2001:db8::1]');
    expect(dsnAddress(path('<postmaster>', 'forward'))).toBe('postmaster');
  });

  it('refuses the null reverse-path: a message from <> gets no DSN', () => {
    expect(() => dsnAddress(path('<>'))).toThrow(DsnError);
  });
});
