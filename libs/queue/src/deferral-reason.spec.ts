import { describe, expect, it } from 'vitest';
import { deferralReason, destinationLabel } from './deferral-reason.js';

describe('deferralReason', () => {
  it.each([
    [{ code: 451, enhanced: '4.4.3', synthetic: true }, 'dns'],
    [{ code: 421, enhanced: '4.4.1', synthetic: true }, 'connect'],
    [{ code: 421, enhanced: '4.4.2', synthetic: true }, 'connect'],
    [{ code: 451, enhanced: '4.7.5', synthetic: true }, 'tls'],
    [{ code: 451, enhanced: '4.4.5', synthetic: true }, 'throttle'],
    [{ code: 421, enhanced: '4.3.2', synthetic: false }, 'throttle'],
    [{ code: 450, enhanced: '4.7.28', synthetic: false }, 'throttle'],
    [{ code: 451, enhanced: '4.3.0', synthetic: false }, '4yz'],
    [{ code: 452, enhanced: null, synthetic: false }, '4yz'],
  ] as const)('%o is %s', (reply, reason) => {
    expect(deferralReason(reply)).toBe(reason);
  });
});

describe('destinationLabel', () => {
  it('is the domain when listed (any case), else other', () => {
    const top = new Set(['example.com']);
    expect(destinationLabel('Example.COM', top)).toBe('example.com');
    expect(destinationLabel('example.org', top)).toBe('other');
  });
});
