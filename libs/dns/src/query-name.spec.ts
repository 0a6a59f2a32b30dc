import { describe, expect, it } from 'vitest';
import { queryName, wireName } from './query-name.js';

describe('queryName', () => {
  it('lower-cases and drops one trailing dot', () => {
    expect(queryName('Example.COM.')).toBe('example.com');
    expect(queryName('example.com')).toBe('example.com');
  });

  it('converts U-labels to A-labels (IDNA)', () => {
    expect(queryName('BÜCHER.example')).toBe('xn--bcher-kva.example');
    expect(queryName('xn--bcher-kva.example.')).toBe('xn--bcher-kva.example');
  });

  it('refuses names the DNS cannot carry (RFC 1035 §2.3.4)', () => {
    expect(queryName('')).toBeNull();
    expect(queryName('.')).toBeNull();
    expect(queryName('a..example')).toBeNull();
    expect(queryName('exa mple.com')).toBeNull();
    expect(queryName(`${'x'.repeat(64)}.example`)).toBeNull();
    expect(queryName(`${'x'.repeat(63)}.example`)).toBe(`${'x'.repeat(63)}.example`);
    expect(queryName(Array.from({ length: 64 }, () => 'abc').join('.'))).toBeNull();
  });
});

describe('wireName', () => {
  it('is lower case without a trailing dot, the root as ""', () => {
    expect(wireName('MX.Example.com.')).toBe('mx.example.com');
    expect(wireName('.')).toBe('');
  });
});
