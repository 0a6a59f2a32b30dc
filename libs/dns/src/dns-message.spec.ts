import dnsPacket, { type Answer } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import {
  answersQuery,
  decodeResponse,
  EDNS_UDP_PAYLOAD,
  encodeQuery,
  readResponse,
  type Response,
} from './dns-message.js';

const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

function response(
  options: {
    id?: number;
    name?: string;
    type?: 'MX' | 'A' | 'AAAA';
    rcode?: keyof typeof RCODES;
    answers?: Answer[];
    authorities?: Answer[];
  } = {},
): Response {
  const message = dnsPacket.encode({
    type: 'response',
    id: options.id ?? 1,
    flags: RCODES[options.rcode ?? 'NOERROR'],
    questions: [{ type: options.type ?? 'MX', name: options.name ?? 'example.test' }],
    answers: options.answers ?? [],
    authorities: options.authorities ?? [],
  });
  const decoded = decodeResponse(message);
  if (decoded === null) throw new Error('undecodable');
  return decoded;
}

const soa = (ttl: number, minimum: number): Answer => ({
  type: 'SOA',
  name: 'example.test',
  ttl,
  data: { mname: 'ns.example.test', rname: 'h.example.test', minimum },
});

describe('encodeQuery', () => {
  it('asks one question with RD set and an EDNS0 OPT offering 1232 octets', () => {
    const query = dnsPacket.decode(encodeQuery(0xbeef, 'example.test', 'MX'));
    expect(query.id).toBe(0xbeef);
    expect(query.type).toBe('query');
    expect(query.flag_rd).toBe(true);
    expect(query.questions).toEqual([{ name: 'example.test', type: 'MX', class: 'IN' }]);
    expect(query.additionals?.[0]).toMatchObject({ type: 'OPT', udpPayloadSize: EDNS_UDP_PAYLOAD });
  });
});

describe('answersQuery', () => {
  it('accepts the same id and question, the name in any case', () => {
    expect(answersQuery(response({ name: 'EXAMPLE.Test' }), 1, 'example.test', 'MX')).toBe(true);
  });

  it('ignores a wrong id, name or type, and queries', () => {
    expect(answersQuery(response({ id: 2 }), 1, 'example.test', 'MX')).toBe(false);
    expect(answersQuery(response({ name: 'other.test' }), 1, 'example.test', 'MX')).toBe(false);
    expect(answersQuery(response({ type: 'A' }), 1, 'example.test', 'MX')).toBe(false);
    const query = dnsPacket.decode(encodeQuery(1, 'example.test', 'MX')) as Response;
    expect(answersQuery(query, 1, 'example.test', 'MX')).toBe(false);
  });

  it('does not decode garbage', () => {
    expect(decodeResponse(Buffer.from('not dns'))).toBeNull();
  });
});

describe('readResponse', () => {
  it('reads MX records in order, the null MX as "", TTL the least', () => {
    const answers: Answer[] = [
      {
        type: 'MX',
        name: 'example.test',
        ttl: 300,
        data: { preference: 20, exchange: 'MX2.Example.test.' },
      },
      { type: 'MX', name: 'example.test', ttl: 100, data: { preference: 10, exchange: '.' } },
    ];
    expect(readResponse(response({ answers }), 'example.test', 'MX')).toEqual({
      kind: 'records',
      records: [
        { exchange: 'mx2.example.test', preference: 20 },
        { exchange: '', preference: 10 },
      ],
      ttl: 100,
    });
  });

  it('follows the CNAME chain, counting the CNAMEs TTLs', () => {
    const answers: Answer[] = [
      { type: 'CNAME', name: 'www.example.test', ttl: 50, data: 'Host.example.test' },
      { type: 'A', name: 'other.example.test', ttl: 5, data: '192.0.2.99' },
      { type: 'A', name: 'host.example.test', ttl: 600, data: '192.0.2.1' },
    ];
    const res = response({ name: 'www.example.test', type: 'A', answers });
    expect(readResponse(res, 'www.example.test', 'A')).toEqual({
      kind: 'records',
      records: ['192.0.2.1'],
      ttl: 50,
    });
  });

  it('reads NODATA and NXDOMAIN with min(SOA TTL, MINIMUM) as negative TTL', () => {
    expect(readResponse(response({ authorities: [soa(60, 30)] }), 'example.test', 'MX')).toEqual({
      kind: 'nodata',
      negativeTtl: 30,
    });
    const nx = response({ rcode: 'NXDOMAIN', authorities: [soa(20, 900)] });
    expect(readResponse(nx, 'example.test', 'MX')).toEqual({ kind: 'nxdomain', negativeTtl: 20 });
    expect(readResponse(response({ rcode: 'NXDOMAIN' }), 'example.test', 'MX')).toEqual({
      kind: 'nxdomain',
      negativeTtl: null,
    });
  });

  it('is NODATA when the chain ends without records of the type', () => {
    const answers: Answer[] = [
      { type: 'CNAME', name: 'example.test', ttl: 50, data: 'elsewhere.test' },
    ];
    expect(readResponse(response({ answers }), 'example.test', 'MX')).toMatchObject({
      kind: 'nodata',
    });
  });

  it('fails a CNAME loop', () => {
    const answers: Answer[] = [
      { type: 'CNAME', name: 'example.test', ttl: 50, data: 'b.test' },
      { type: 'CNAME', name: 'b.test', ttl: 50, data: 'example.test' },
    ];
    expect(readResponse(response({ answers }), 'example.test', 'MX')).toMatchObject({
      kind: 'error',
      failure: 'servfail',
    });
  });

  it('reads a TTL with the top bit set as 0 (RFC 2181 §8)', () => {
    const answers: Answer[] = [
      { type: 'A', name: 'example.test', ttl: 0x80000000, data: '192.0.2.1' },
    ];
    expect(readResponse(response({ type: 'A', answers }), 'example.test', 'A')).toMatchObject({
      ttl: 0,
    });
  });

  it('maps failing RCODEs', () => {
    const failure = (rcode: keyof typeof RCODES): unknown =>
      (readResponse(response({ rcode }), 'example.test', 'MX') as { failure?: string }).failure;
    expect(failure('SERVFAIL')).toBe('servfail');
    expect(failure('REFUSED')).toBe('refused');
    expect(failure('FORMERR')).toBe('formerr');
    expect(failure('NOTIMP')).toBe('servfail');
  });
});
