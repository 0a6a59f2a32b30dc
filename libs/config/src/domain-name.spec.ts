import { describe, expect, it } from 'vitest';
import { parseDomainPattern, parseHostname } from './domain-name.js';

describe('parseHostname', () => {
  it.each([
    ['relay.example.net', 'relay.example.net'],
    ['Relay.Example.NET.', 'relay.example.net'],
    ['petrel-ingress-7d9f8-x2k4q', 'petrel-ingress-7d9f8-x2k4q'],
    ['123.example', '123.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
  ])('accepts %s', (text, value) => {
    expect(parseHostname(text)).toEqual({ ok: true, value });
  });

  it.each([
    '',
    '.',
    'a..b',
    '-a.example',
    'a-.example',
    'under_score.example',
    'a b',
    '[127.0.0.1]',
    `${'a'.repeat(64)}.example`,
    `${'a.'.repeat(127)}ab`,
  ])('refuses %j', (text) => {
    expect(parseHostname(text)).toEqual({
      ok: false,
      expected: 'a host name such as relay.example.net',
    });
  });
});

describe('parseDomainPattern', () => {
  it.each([
    ['example.com', 'example.com'],
    ['.Example.com', '.example.com'],
    ['example.com.', 'example.com'],
  ])('accepts %s as %s', (text, value) => {
    expect(parseDomainPattern(text, { wildcard: false })).toEqual({ ok: true, value });
  });

  it('accepts * only where a default route is meant', () => {
    expect(parseDomainPattern('*', { wildcard: true })).toEqual({ ok: true, value: '*' });
    expect(parseDomainPattern('*', { wildcard: false })).toEqual({
      ok: false,
      expected: 'a domain such as example.com, or .example.com for its subdomains',
    });
  });

  it.each(['', '.', '..example.com', '*.example.com', 'user@example.com', 'example..com'])(
    'refuses %j',
    (text) => {
      expect(parseDomainPattern(text, { wildcard: true })).toEqual({
        ok: false,
        expected:
          'a domain such as example.com, .example.com for its subdomains, or * for every other',
      });
    },
  );
});
