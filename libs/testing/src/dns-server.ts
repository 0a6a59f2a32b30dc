// A programmable authoritative DNS server for tests, on 127.0.0.1, UDP and TCP
// on one port. It answers from a table of records (MX, A, AAAA, CNAME) as an
// authoritative server does (AA set, RFC 1034 §4.3.2): the records of the asked
// type, following CNAME chains inside the table; a known name without records
// of that type (or an empty non-terminal, RFC 8020) is NODATA and an unknown
// name NXDOMAIN, both with an SOA in the authority section for negative
// caching (RFC 2308 §3). Per name, a behaviour
// can make it misbehave: SERVFAIL, REFUSED, never answer, truncate over UDP
// (TC set, no answers; the full answer over TCP, RFC 7766), answer late, or
// send a reply with a wrong id before the right one. Every query is logged.
//
// Does not: recurse, serve zone transfers, DNSSEC, wildcards or delegations,
// or listen anywhere but 127.0.0.1. Its sockets are unref'd: a server a test
// forgets to close does not keep the test process alive.

import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';

export type TestRecord =
  | { type: 'MX'; name: string; exchange: string; preference: number; ttl?: number }
  | { type: 'A' | 'AAAA'; name: string; address: string; ttl?: number }
  | { type: 'CNAME'; name: string; target: string; ttl?: number };

export type TestBehaviour =
  'servfail' | 'refused' | 'drop' | 'truncate' | { delayMs: number } | { spoofFirst: true };

export interface DnsServerOptions {
  records?: TestRecord[];
  /** Keyed by name, lower case, without a trailing dot. */
  behaviours?: Record<string, TestBehaviour>;
  /** The SOA in negative answers: its own TTL and its MINIMUM field; default 60/60. */
  soa?: { ttl: number; minimum: number };
}

export interface TestDnsQuery {
  /** Lower case, without a trailing dot. */
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
}

export interface TestDnsServer {
  readonly host: string;
  readonly port: number;
  /** '127.0.0.1:<port>', ready for routing.dns.servers. */
  readonly address: string;
  readonly queries: readonly TestDnsQuery[];
  /** Replaces the zone (records and behaviours). */
  set(records: TestRecord[], behaviours?: Record<string, TestBehaviour>): void;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const DEFAULT_TTL = 300;
const MAX_CNAME_HOPS = 16;
// RFC 1035 §4.2.1: 512 octets without EDNS; RFC 6891 §6.2.3: the requester's payload size.
const PLAIN_UDP_LIMIT = 512;
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

type Transport = 'udp' | 'tcp';

export async function startDnsServer(options: DnsServerOptions = {}): Promise<TestDnsServer> {
  let lastError: unknown = null;
  // UDP takes a free port first; TCP may find it taken by someone else: try again.
  for (let attempt = 0; attempt < 10; attempt++) {
    const udp = createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address: HOST, port: 0, exclusive: true }, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const port = udp.address().port;
      const tcp = createServer();
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: HOST, port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return new ProgrammableDnsServer(udp, tcp, port, options);
    } catch (err) {
      lastError = err;
      udp.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

class ProgrammableDnsServer implements TestDnsServer {
  readonly host = HOST;
  readonly port: number;
  readonly address: string;
  readonly queries: TestDnsQuery[] = [];
  readonly #udp: UdpSocket;
  readonly #tcp: Server;
  readonly #connections = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #soa: { ttl: number; minimum: number };
  #records = new Map<string, TestRecord[]>();
  #behaviours = new Map<string, TestBehaviour>();
  #closed = false;

  constructor(udp: UdpSocket, tcp: Server, port: number, options: DnsServerOptions) {
    this.#udp = udp;
    this.#tcp = tcp;
    this.port = port;
    this.address = `${HOST}:${port}`;
    this.#soa = options.soa ?? { ttl: 60, minimum: 60 };
    this.set(options.records ?? [], options.behaviours);
    udp.on('message', (message, peer) => this.#onUdp(message, peer));
    udp.on('error', () => undefined);
    tcp.on('connection', (socket) => this.#onTcp(socket));
    udp.unref();
    tcp.unref();
  }

  set(records: TestRecord[], behaviours: Record<string, TestBehaviour> = {}): void {
    this.#records = new Map();
    for (const record of records) {
      const name = canonical(record.name);
      const list = this.#records.get(name) ?? [];
      list.push(record);
      this.#records.set(name, list);
    }
    this.#behaviours = new Map(Object.entries(behaviours).map(([name, b]) => [canonical(name), b]));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const socket of this.#connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.#udp.close(() => resolve())),
      new Promise<void>((resolve) => this.#tcp.close(() => resolve())),
    ]);
  }

  #onUdp(message: Buffer, peer: RemoteInfo): void {
    this.#handle(message, 'udp', (reply) => {
      if (!this.#closed) this.#udp.send(reply, peer.port, peer.address);
    });
  }

  #onTcp(socket: Socket): void {
    this.#connections.add(socket);
    socket.on('close', () => this.#connections.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      // RFC 1035 §4.2.2: each message is prefixed with its two-octet length.
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        this.#handle(message, 'tcp', (reply) => {
          if (socket.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([prefix, reply]));
        });
      }
    });
  }

  #handle(message: Buffer, transport: Transport, send: (reply: Buffer) => void): void {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (query.type !== 'query' || question === undefined) return;
    const name = canonical(question.name);
    this.queries.push({ name, type: question.type, transport });

    const behaviour = this.#behaviours.get(name);
    if (behaviour === 'drop') return;
    const reply = this.#answer(query, transport, behaviour);
    if (typeof behaviour === 'object' && 'delayMs' in behaviour) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        send(reply);
      }, behaviour.delayMs);
      timer.unref();
      this.#timers.add(timer);
      return;
    }
    if (transport === 'udp' && typeof behaviour === 'object' && 'spoofFirst' in behaviour) {
      // A forger's guess: same question, wrong id, and an answer the real one contradicts.
      send(encode(query, { id: ((query.id ?? 0) ^ 0x5a5a) & 0xffff, rcode: RCODE.NXDOMAIN }));
    }
    send(reply);
  }

  #answer(
    query: DecodedPacket,
    transport: Transport,
    behaviour: TestBehaviour | undefined,
  ): Buffer {
    if (behaviour === 'servfail') return encode(query, { rcode: RCODE.SERVFAIL });
    if (behaviour === 'refused') return encode(query, { rcode: RCODE.REFUSED });
    if (behaviour === 'truncate' && transport === 'udp') return encode(query, { truncated: true });
    const full = encode(query, this.#resolve(query));
    if (transport === 'udp' && full.length > udpLimit(query)) {
      return encode(query, { truncated: true });
    }
    return full;
  }

  /** The zone's answer to the query's question, following CNAMEs inside the table. */
  #resolve(query: DecodedPacket): Reply {
    const question = query.questions?.[0];
    if (question === undefined) return { rcode: RCODE.REFUSED };
    const answers: Answer[] = [];
    let owner = canonical(question.name);
    for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
      const records = this.#records.get(owner);
      const negative = { answers, authorities: [this.#soaFor(owner)] };
      if (records === undefined) {
        // An empty non-terminal (a name with names below it) exists: NODATA (RFC 8020).
        return this.#hasDescendant(owner)
          ? { rcode: RCODE.NOERROR, ...negative }
          : { rcode: RCODE.NXDOMAIN, ...negative };
      }
      const matching = records.filter((record) => record.type === question.type);
      if (matching.length > 0) {
        return { rcode: RCODE.NOERROR, answers: [...answers, ...matching.map(toAnswer)] };
      }
      const cname = records.find((record) => record.type === 'CNAME');
      if (cname === undefined) return { rcode: RCODE.NOERROR, ...negative };
      answers.push(toAnswer(cname));
      owner = canonical(cname.target);
    }
    return { rcode: RCODE.SERVFAIL };
  }

  #hasDescendant(name: string): boolean {
    const suffix = `.${name}`;
    for (const owner of this.#records.keys()) if (owner.endsWith(suffix)) return true;
    return false;
  }

  /** The zone apex is the name's last two labels. */
  #soaFor(name: string): Answer {
    const apex = name.split('.').slice(-2).join('.') || '.';
    return {
      type: 'SOA',
      name: apex,
      ttl: this.#soa.ttl,
      data: {
        mname: `ns.${apex}`,
        rname: `hostmaster.${apex}`,
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: this.#soa.minimum,
      },
    };
  }
}

interface Reply {
  readonly id?: number;
  readonly rcode?: number;
  readonly truncated?: boolean;
  readonly answers?: Answer[];
  readonly authorities?: Answer[];
}

function encode(query: DecodedPacket, reply: Reply): Buffer {
  let flags = dnsPacket.AUTHORITATIVE_ANSWER | (reply.rcode ?? RCODE.NOERROR);
  if (query.flag_rd) flags |= dnsPacket.RECURSION_DESIRED;
  if (reply.truncated === true) flags |= dnsPacket.TRUNCATED_RESPONSE;
  const opt = query.additionals?.find((record) => record.type === 'OPT');
  const packet: Packet = {
    type: 'response',
    id: reply.id ?? query.id ?? 0,
    flags,
    questions: query.questions ?? [],
    answers: reply.truncated === true ? [] : (reply.answers ?? []),
    authorities: reply.truncated === true ? [] : (reply.authorities ?? []),
    additionals:
      opt === undefined
        ? []
        : [
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
  };
  return dnsPacket.encode(packet);
}

function toAnswer(record: TestRecord): Answer {
  const name = canonical(record.name);
  const ttl = record.ttl ?? DEFAULT_TTL;
  switch (record.type) {
    case 'MX': {
      // RFC 7505 §3: the null MX is preference 0 and the root as exchange.
      const exchange = record.exchange === '' ? '.' : record.exchange;
      return { type: 'MX', name, ttl, data: { preference: record.preference, exchange } };
    }
    case 'A':
    case 'AAAA':
      return { type: record.type, name, ttl, data: record.address };
    case 'CNAME':
      return { type: 'CNAME', name, ttl, data: record.target };
  }
}

function udpLimit(query: DecodedPacket): number {
  const opt = query.additionals?.find((record) => record.type === 'OPT');
  if (opt === undefined || !('udpPayloadSize' in opt)) return PLAIN_UDP_LIMIT;
  return Math.max(PLAIN_UDP_LIMIT, Math.min(opt.udpPayloadSize, 4096));
}

function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}
