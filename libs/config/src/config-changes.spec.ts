import { describe, expect, it } from 'vitest';
import { configChanges, keyWithin, withChanges } from './config-changes.js';
import { loadConfig } from './load-config.js';

const load = (text: string) => loadConfig({ env: {}, file: 'petrel.yaml', text });

describe('configChanges', () => {
  it('names nothing for the same file', () => {
    expect(
      configChanges(load('ingress: { maxErrors: 5 }'), load('ingress: { maxErrors: 5 }')),
    ).toEqual([]);
  });

  it('names leaves as the file does, durations without Ms, lists and name mappings whole', () => {
    const before = load(`
ingress:
  trustedNetworks: [127.0.0.0/8]
  timeouts: { command: 5m }
routing:
  transports: { a.test: 'smtp:[127.0.0.1]:2626' }
`);
    const after = load(`
ingress:
  trustedNetworks: [127.0.0.0/8, 10.0.0.0/8]
  timeouts: { command: 6m }
  tls: { cert: /x.crt, key: /x.key }
routing:
  transports: { a.test: 'smtp:[127.0.0.2]:2626' }
`);
    const changes = configChanges(before, after);
    expect(changes.map((c) => c.key)).toEqual([
      'ingress.trustedNetworks',
      'ingress.timeouts.command',
      'ingress.tls',
      'routing.transports',
    ]);
    expect(changes[1]!.path).toEqual(['ingress', 'timeouts', 'commandMs']);
  });

  it('goes into a section set in both ("ingress.auth.usersFile", not "ingress.auth")', () => {
    const changes = configChanges(
      load('ingress: { auth: { usersFile: /a } }'),
      load('ingress: { auth: { usersFile: /b } }'),
    );
    expect(changes.map((c) => c.key)).toEqual(['ingress.auth.usersFile']);
  });
});

describe('withChanges', () => {
  it('takes only the named keys from the new configuration, and modifies neither', () => {
    const before = load('ingress: { maxErrors: 5, relayDomains: [a.test] }');
    const after = load('ingress: { maxErrors: 6, relayDomains: [b.test] }');
    const changes = configChanges(before, after).filter((c) => c.key === 'ingress.relayDomains');
    const merged = withChanges(before, after, changes);
    expect(merged.ingress.relayDomains).toEqual(['b.test']);
    expect(merged.ingress.maxErrors).toBe(5);
    expect(before.ingress.relayDomains).toEqual(['a.test']);
    merged.ingress.relayDomains.push('c.test');
    expect(after.ingress.relayDomains).toEqual(['b.test']);
  });
});

describe('keyWithin', () => {
  it('matches the key itself and what lies under it, never a longer name', () => {
    expect(keyWithin('ingress.tls', 'ingress.tls')).toBe(true);
    expect(keyWithin('ingress.tls.cert', 'ingress.tls')).toBe(true);
    expect(keyWithin('ingress.trustedNetworks[0]', 'ingress.trustedNetworks')).toBe(true);
    expect(keyWithin('ingress.tlsx', 'ingress.tls')).toBe(false);
    expect(keyWithin('ingress.auth', 'ingress.auth.usersFile')).toBe(false);
  });
});
