import { describe, expect, it } from 'vitest';
import { NOW, status } from '../test/fixtures.js';
import { enumName, formatResolve, formatStatus } from './format-status.js';

describe('formatStatus', () => {
  it('shows services, queues, Redis and counters', () => {
    expect(formatStatus(status(), NOW)).toBe(
      [
        'SERVICES',
        '  SERVICE  INSTANCE  VERSION  HEALTH  STATE          SEEN  STARTED',
        '  egress   vm:202    0.1.0    stale   draining  1m35s ago   2h ago',
        '  ingress  vm:200    0.1.0    up      ready        3s ago   1h ago',
        '  routing  vm:201    0.1.0    up      ready        2s ago   1h ago',
        '',
        'QUEUES',
        '  QUEUE         WAITING  ACTIVE  DELAYED  FAILED  WORKERS',
        '  transactions        1       0        2       0        1',
        '  deliveries          5       2        7       1        2',
        '  held                1       0        0       0        0',
        '',
        'REDIS',
        '  version  7.0.15, master, 0 replicas',
        '  memory   3.0 MiB used, no maxmemory, maxmemory-policy noeviction',
        '  aof      on, appendfsync always, last write ok',
        '  rdb      save 3600 1 300 100 60 10000, last save 2026-11-23T14:20:00.000Z (2h ago), last bgsave ok',
        '',
        'COUNTERS (since the queue was created)',
        '  accepted 1,000   delivered 1,500   deferred 20   bounced 3   dsn 2',
        '',
      ].join('\n'),
    );
  });

  it('says when no service reported itself, and shows a memory limit', () => {
    const text = formatStatus(
      status({
        services: [],
        redis: { ...status().redis!, maxmemory: 12 * 1024 * 1024, aofEnabled: false },
      }),
      NOW,
    );
    expect(text).toContain('SERVICES\n  none has reported itself\n');
    expect(text).toContain('memory   3.0 MiB used of 12 MiB (25%), maxmemory-policy noeviction');
    expect(text).toContain('aof      off\n');
  });
});

describe('formatResolve', () => {
  it('shows a relay with its hops in order', () => {
    expect(
      formatResolve({
        decision: 'RELAY',
        hops: [
          { host: 'mx1.example.com', preference: 10, port: 25 },
          { host: 'mx2.example.com', preference: 20, port: 25 },
        ],
        source: 'MX',
        cached: true,
        reply: null,
        transport: '',
        tls: '',
        auth: '',
        members: [],
        domain: 'example.com',
      }),
    ).toBe(
      [
        'domain     example.com',
        'decision   relay',
        'source     mx',
        'next hops  mx1.example.com:25 (preference 10), mx2.example.com:25 (preference 20)',
        'cached     yes (DNS answered from the cache)',
        '',
      ].join('\n'),
    );
  });

  it('shows a rejection with its reply and the transport map key', () => {
    const text = formatResolve({
      decision: 'REJECT',
      hops: [],
      source: 'TRANSPORT_MAP',
      cached: false,
      reply: { code: 550, enhanced: '5.7.1', text: 'No mail for this domain' },
      transport: '.example.net',
      tls: '',
      auth: '',
      members: [],
      domain: 'x.example.net',
    });
    expect(text).toContain('decision  reject\n');
    expect(text).toContain('source    transport-map (transport map key .example.net)\n');
    expect(text).toContain('reply     550 5.7.1 No mail for this domain\n');
    expect(text).toContain('cached    no\n');
  });

  it('names enums in lower case', () => {
    expect(enumName('IMPLICIT_MX')).toBe('implicit-mx');
  });
});
