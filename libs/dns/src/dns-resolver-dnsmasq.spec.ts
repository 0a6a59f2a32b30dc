// DnsResolver against a real DNS server: Debian's dnsmasq on 127.0.0.1, which
// forwards nothing. Skipped, with the reason printed, only when no dnsmasq
// binary is installed.
import {
  DNSMASQ_INSTALL_HINT,
  dnsmasqBinary,
  startDnsmasq,
  type DnsmasqHandle,
} from '@petrel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResolver } from './dns-resolver.js';

const binary = dnsmasqBinary();
if (binary === null) {
  console.warn(`dns-resolver-dnsmasq.spec.ts: skipped, dnsmasq not found; ${DNSMASQ_INSTALL_HINT}`);
}

describe.skipIf(binary === null)('DnsResolver against dnsmasq', () => {
  let dnsmasq: DnsmasqHandle;
  let dns: DnsResolver;

  beforeAll(async () => {
    dnsmasq = await startDnsmasq({
      mx: [
        { name: 'example.test', exchange: 'mx1.example.test', preference: 10 },
        { name: 'null.example.test', exchange: '.', preference: 0 },
      ],
      hosts: [
        { name: 'mx1.example.test', address: '192.0.2.1' },
        { name: 'mx1.example.test', address: '2001:db8::1' },
      ],
      localDomains: ['test'],
      ttl: 120,
    });
    dns = new DnsResolver({ servers: [dnsmasq.address], timeoutMs: 1000 });
  });

  afterAll(async () => {
    dns?.close();
    await dnsmasq?.close();
  });

  it('reads MX records and the null MX', async () => {
    expect(await dns.mx('Example.test.')).toEqual({
      kind: 'records',
      records: [{ exchange: 'mx1.example.test', preference: 10 }],
      ttl: 120,
      cached: false,
    });
    expect(await dns.mx('null.example.test')).toMatchObject({
      records: [{ exchange: '', preference: 0 }],
    });
  });

  it('reads A and AAAA records', async () => {
    expect(await dns.a('mx1.example.test')).toMatchObject({
      kind: 'records',
      records: ['192.0.2.1'],
    });
    expect(await dns.aaaa('mx1.example.test')).toMatchObject({
      kind: 'records',
      records: ['2001:db8::1'],
    });
  });

  it('reads NXDOMAIN (not cached: dnsmasq sends no SOA)', async () => {
    expect(await dns.mx('nowhere.test')).toEqual({ kind: 'nxdomain', cached: false });
    expect(await dns.mx('nowhere.test')).toEqual({ kind: 'nxdomain', cached: false });
  });

  it('serves a second look-up from the cache', async () => {
    expect(await dns.a('mx1.example.test')).toMatchObject({ kind: 'records', cached: true });
  });
});
