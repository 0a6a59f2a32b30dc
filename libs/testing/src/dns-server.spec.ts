import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket, { type DecodedPacket, type RecordType } from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServerOptions, type TestDnsServer } from './dns-server.js';

type Reply = DecodedPacket & { rcode: string };

const servers: TestDnsServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(options?: DnsServerOptions): Promise<TestDnsServer> {
  const server = await startDnsServer(options);
  servers.push(server);
  return server;
}

function query(name: string, type: RecordType, id = 4242): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ],
  });
}

/** Every reply that arrives over UDP within waitMs. */
async function udp(
  server: TestDnsServer,
  name: string,
  type: RecordType,
  waitMs = 100,
): Promise<Reply[]> {
  const socket = createSocket('udp4');
  const replies: Reply[] = [];
  socket.on('message', (message) => replies.push(dnsPacket.decode(message) as Reply));
  socket.send(query(name, type), server.port, server.host);
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  socket.close();
  return replies;
}

async function udpOne(server: TestDnsServer, name: string, type: RecordType): Promise<Reply> {
  const socket = createSocket('udp4');
  try {
    return await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply')), 2000);
      socket.on('message', (message) => {
        clearTimeout(timer);
        resolve(dnsPacket.decode(message) as Reply);
      });
      socket.send(query(name, type), server.port, server.host);
    });
  } finally {
    socket.close();
  }
}

function tcp(server: TestDnsServer, name: string, type: RecordType): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let buffered = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('connect', () => {
      const message = query(name, type);
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(message.length);
      socket.write(Buffer.concat([prefix, message]));
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
      socket.destroy();
      resolve(dnsPacket.decode(buffered.subarray(2)) as Reply);
    });
  });
}

const zone: DnsServerOptions = {
  records: [
    { type: 'MX', name: 'Example.TEST', exchange: 'mx1.example.test', preference: 10, ttl: 120 },
    { type: 'MX', name: 'example.test', exchange: 'mx2.example.test', preference: 20 },
    { type: 'A', name: 'mx1.example.test', address: '192.0.2.1' },
    { type: 'AAAA', name: 'mx1.example.test', address: '2001:db8::1', ttl: 30 },
    { type: 'CNAME', name: 'alias.example.test', target: 'mx1.example.test.', ttl: 40 },
    { type: 'MX', name: 'null.example.test', exchange: '.', preference: 0 },
  ],
  soa: { ttl: 90, minimum: 45 },
};

describe('startDnsServer', () => {
  it('answers MX, A and AAAA authoritatively, with the TTLs given', async () => {
    const server = await start(zone);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);

    const mx = await udpOne(server, 'example.test', 'MX');
    expect(mx.rcode).toBe('NOERROR');
    expect(mx.flag_aa).toBe(true);
    expect(mx.id).toBe(4242);
    expect(
      mx.answers?.map((rr) => [rr.type, 'ttl' in rr ? rr.ttl : null, 'data' in rr && rr.data]),
    ).toEqual([
      ['MX', 120, { preference: 10, exchange: 'mx1.example.test' }],
      ['MX', 300, { preference: 20, exchange: 'mx2.example.test' }],
    ]);

    const a = await udpOne(server, 'MX1.example.test', 'A');
    expect(a.questions?.[0]?.name).toBe('MX1.example.test');
    expect(a.answers?.map((rr) => 'data' in rr && rr.data)).toEqual(['192.0.2.1']);
    const aaaa = await udpOne(server, 'mx1.example.test', 'AAAA');
    expect(aaaa.answers?.map((rr) => 'data' in rr && rr.data)).toEqual(['2001:db8::1']);

    const nullMx = await udpOne(server, 'null.example.test', 'MX');
    expect(nullMx.answers?.[0]).toMatchObject({ data: { preference: 0, exchange: '.' } });

    expect(server.queries).toEqual([
      { name: 'example.test', type: 'MX', transport: 'udp' },
      { name: 'mx1.example.test', type: 'A', transport: 'udp' },
      { name: 'mx1.example.test', type: 'AAAA', transport: 'udp' },
      { name: 'null.example.test', type: 'MX', transport: 'udp' },
    ]);
  });

  it('follows CNAME chains inside its table', async () => {
    const server = await start(zone);
    const reply = await udpOne(server, 'alias.example.test', 'A');
    expect(reply.answers?.map((rr) => [rr.name, rr.type, 'data' in rr && rr.data])).toEqual([
      ['alias.example.test', 'CNAME', 'mx1.example.test'],
      ['mx1.example.test', 'A', '192.0.2.1'],
    ]);
  });

  it('answers NODATA and NXDOMAIN with the SOA in the authority section', async () => {
    const server = await start(zone);
    const nodata = await udpOne(server, 'example.test', 'A');
    expect(nodata.rcode).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
    expect(nodata.authorities?.[0]).toMatchObject({
      type: 'SOA',
      name: 'example.test',
      ttl: 90,
      data: { minimum: 45 },
    });

    const nxdomain = await udpOne(server, 'nowhere.example.test', 'MX');
    expect(nxdomain.rcode).toBe('NXDOMAIN');
    expect(nxdomain.flag_aa).toBe(true);
    expect(nxdomain.authorities?.[0]).toMatchObject({ type: 'SOA', ttl: 90 });
  });

  it('misbehaves per name: SERVFAIL, REFUSED, drop, delay', async () => {
    const server = await start({
      ...zone,
      behaviours: {
        'example.test': 'servfail',
        'mx1.example.test': 'refused',
        'null.example.test': 'drop',
        'alias.example.test': { delayMs: 150 },
      },
    });
    expect((await udpOne(server, 'example.test', 'MX')).rcode).toBe('SERVFAIL');
    expect((await udpOne(server, 'mx1.example.test', 'A')).rcode).toBe('REFUSED');
    expect(await udp(server, 'null.example.test', 'MX', 150)).toEqual([]);
    expect(await udp(server, 'alias.example.test', 'A', 50)).toEqual([]);
    const late = await udp(server, 'alias.example.test', 'A', 300);
    expect(late.map((reply) => reply.rcode)).toEqual(['NOERROR']);
  });

  it('truncates over UDP and answers in full over TCP on the same port', async () => {
    const server = await start({ ...zone, behaviours: { 'example.test': 'truncate' } });
    const truncated = await udpOne(server, 'example.test', 'MX');
    expect(truncated.flag_tc).toBe(true);
    expect(truncated.answers).toEqual([]);
    const full = await tcp(server, 'example.test', 'MX');
    expect(full.flag_tc).toBe(false);
    expect(full.answers).toHaveLength(2);
    expect(server.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('truncates over UDP an answer larger than the payload the query offers', async () => {
    const records = Array.from({ length: 100 }, (_, i) => ({
      type: 'AAAA' as const,
      name: 'big.example.test',
      address: `2001:db8::${i + 1}`,
    }));
    const server = await start({ records });
    expect((await udpOne(server, 'big.example.test', 'AAAA')).flag_tc).toBe(true);
    expect((await tcp(server, 'big.example.test', 'AAAA')).answers).toHaveLength(100);
  });

  it('sends a reply with a wrong id before the right one when asked to spoof', async () => {
    const server = await start({ ...zone, behaviours: { 'example.test': { spoofFirst: true } } });
    const replies = await udp(server, 'example.test', 'MX');
    expect(replies.map((reply) => [reply.id === 4242, reply.rcode])).toEqual([
      [false, 'NXDOMAIN'],
      [true, 'NOERROR'],
    ]);
  });

  it('replaces its zone with set()', async () => {
    const server = await start(zone);
    server.set([{ type: 'A', name: 'new.example.test', address: '192.0.2.9' }], {
      'mx1.example.test': 'servfail',
    });
    // example.test is now an empty non-terminal (RFC 8020): NODATA, not NXDOMAIN.
    const apex = await udpOne(server, 'example.test', 'MX');
    expect([apex.rcode, apex.answers ?? []]).toEqual(['NOERROR', []]);
    expect((await udpOne(server, 'other.test', 'MX')).rcode).toBe('NXDOMAIN');
    expect((await udpOne(server, 'new.example.test', 'A')).answers?.[0]).toMatchObject({
      data: '192.0.2.9',
    });
    expect((await udpOne(server, 'mx1.example.test', 'A')).rcode).toBe('SERVFAIL');
  });

  it('stops answering on close()', async () => {
    const server = await startDnsServer(zone);
    await server.close();
    expect(await udp(server, 'example.test', 'MX', 50)).toEqual([]);
    await server.close();
  });
});
