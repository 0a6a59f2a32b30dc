import { describe, expect, it } from 'vitest';
import { closest, editDistance } from './closest.js';

const INGRESS = ['hostname', 'listeners', 'maxMessageSize', 'maxRecipients', 'maxErrors', 'tls'];

describe('closest', () => {
  it.each([
    ['maxMesageSize', 'maxMessageSize'],
    ['max_message_size', 'maxMessageSize'],
    ['MAXERRORS', 'maxErrors'],
    ['listener', 'listeners'],
    ['hostnme', 'hostname'],
    ['tsl', 'tls'],
    ['maxMessage', 'maxMessageSize'],
  ])('suggests %s → %s', (written, meant) => {
    expect(closest(written, INGRESS)).toBe(meant);
  });

  it.each(['port', 'x', 'somethingElseEntirely', 'maxSize', 'max'])(
    'suggests nothing for %s',
    (written) => {
      expect(closest(written, INGRESS)).toBeNull();
    },
  );

  it('suggests nothing without candidates', () => {
    expect(closest('x', [])).toBeNull();
  });
});

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['Redis', 'redis', 0],
    ['durabilityTimeoutMs', 'durabilityTimeout', 2],
    ['tsl', 'tls', 1],
  ])('%s to %s is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
  });
});
