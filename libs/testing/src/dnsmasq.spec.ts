import { createSocket } from 'node:dgram';
import dnsPacket, { type DecodedPacket, type RecordType } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DNSMASQ_INSTALL_HINT,
  dnsmasqBinary,
  dnsmasqConfig,
  startDnsmasq,
  type DnsmasqHandle,
} from './dnsmasq.js';

type Reply = DecodedPacket & { rcode: string };

const binary = dnsmasqBinary();
if (binary === null) {
  console.warn(`dnsmasq.spec.ts: skipped, dnsmasq not found; ${DNSMASQ_INSTALL_HINT}`);
}

function ask(
  port: number,
  name: string,
  type: RecordType,
  timeoutMs = 2000,
): Promise<Reply | null> {
  const socket = createSocket('udp4');
  return new Promise<Reply | null>((resolve) => {
    const done = (reply: Reply | null): void => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.on('message', (message) => done(dnsPacket.decode(message) as Reply));
    socket.on('error', () => done(null));
    const query = dnsPacket.encode({
      type: 'query',
      id: 7,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type, name }],
    });
    socket.send(query, port, '127.0.0.1');
  });
}

function data(reply: Reply | null): unknown[] {
  return (reply?.answers ?? []).map((rr) => ('data' in rr ? rr.data : null));
}

describe('dnsmasqConfig', () => {
  it('listens on 127.0.0.1 only and never forwards', () => {
    const config = dnsmasqConfig(5353, {
      mx: [{ name: 'Example.test.', exchange: 'mx.example.test', preference: 10 }],
      hosts: [{ name: 'mx.example.test', address: '192.0.2.1' }],
      localDomains: ['test'],
    });
    expect(config.split('\n')).toEqual(
      expect.arrayContaining([
        'port=5353',
        'listen-address=127.0.0.1',
        'bind-interfaces',
        'no-resolv',
        'no-hosts',
        'local=/test/',
        'mx-host=example.test,mx.example.test,10',
        'host-record=mx.example.test,192.0.2.1',
      ]),
    );
    expect(config).not.toMatch(/^server=/m);
  });
});

describe.skipIf(binary === null)('startDnsmasq', () => {
  let dnsmasq: DnsmasqHandle;

  beforeAll(async () => {
    dnsmasq = await startDnsmasq({
      mx: [
        { name: 'example.test', exchange: 'mx1.example.test', preference: 10 },
        { name: 'example.test', exchange: 'mx2.example.test', preference: 20 },
        { name: 'null.test', exchange: '.', preference: 0 },
      ],
      hosts: [
        { name: 'mx1.example.test', address: '192.0.2.1' },
        { name: 'mx1.example.test', address: '2001:db8::1' },
      ],
      localDomains: ['test'],
      ttl: 120,
    });
  });

  afterAll(async () => {
    await dnsmasq?.close();
  });

  it('answers MX records, null MX included, with the TTL given', async () => {
    expect(dnsmasq.address).toBe(`127.0.0.1:${dnsmasq.port}`);
    const mx = await ask(dnsmasq.port, 'example.test', 'MX');
    expect(mx?.rcode).toBe('NOERROR');
    expect(data(mx)).toEqual(
      expect.arrayContaining([
        { preference: 10, exchange: 'mx1.example.test' },
        { preference: 20, exchange: 'mx2.example.test' },
      ]),
    );
    expect(mx?.answers?.[0]).toMatchObject({ ttl: 120 });
    expect(data(await ask(dnsmasq.port, 'null.test', 'MX'))).toEqual([
      { preference: 0, exchange: '.' },
    ]);
  });

  it('answers A and AAAA', async () => {
    expect(data(await ask(dnsmasq.port, 'mx1.example.test', 'A'))).toEqual(['192.0.2.1']);
    expect(data(await ask(dnsmasq.port, 'mx1.example.test', 'AAAA'))).toEqual(['2001:db8::1']);
  });

  it('answers NXDOMAIN under a local domain, and REFUSED outside it (nothing forwarded)', async () => {
    expect((await ask(dnsmasq.port, 'nowhere.test', 'A'))?.rcode).toBe('NXDOMAIN');
    expect((await ask(dnsmasq.port, 'example.com', 'A'))?.rcode).toBe('REFUSED');
  });

  it('stops on close()', async () => {
    const other = await startDnsmasq({ localDomains: ['test'] });
    expect((await ask(other.port, 'nowhere.test', 'A'))?.rcode).toBe('NXDOMAIN');
    await other.close();
    expect(await ask(other.port, 'nowhere.test', 'A', 200)).toBeNull();
  });
});
