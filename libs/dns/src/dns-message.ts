// DNS messages for a stub resolver, without I/O: the query to send (RD set,
// RFC 1035 §4.1.1; an EDNS0 OPT offering a 1232-octet UDP payload, RFC 6891
// §6.2.5 and DNS flag day 2020), whether a response answers that query (id,
// QR, opcode, and the question: RFC 5452 §9.1's defence against forged
// replies), and what the response says: records (following the CNAME chain in
// the answer section, RFC 1034 §3.6.2), NODATA, NXDOMAIN (with the negative
// TTL from the authority section's SOA, RFC 2308 §5), or a server failure.
//
// Does not: send anything, cache, retry, or follow a CNAME whose target the
// response does not carry (a recursive resolver does that: the look-up is then
// NODATA); DNAME, DNSSEC and the EDNS extended RCODE are ignored.

import dnsPacket, { type Answer, type DecodedPacket, type StringAnswer } from 'dns-packet';
import type { DnsFailure, MxRecord, QueryType, RecordOf } from './dns-answer.js';
import { wireName } from './query-name.js';

/** RFC 6891 §6.2.5, DNS flag day 2020: no IP fragmentation on any common path. */
export const EDNS_UDP_PAYLOAD = 1232;
/** Longer chains are a misconfiguration or a loop (BIND stops at 16 too). */
const MAX_CNAME_HOPS = 16;
/** RFC 2181 §8: a TTL with the top bit set is read as 0. */
const MAX_TTL = 0x7fffffff;

/** What dns-packet decodes, with the header fields its types leave out. */
export type Response = DecodedPacket & { readonly rcode?: string; readonly opcode?: string };

/** What one response says about one question. */
export type Outcome<T> =
  | { readonly kind: 'records'; readonly records: T[]; readonly ttl: number }
  /** negativeTtl: min(SOA TTL, SOA MINIMUM) in seconds, null without an SOA. */
  | { readonly kind: 'nodata' | 'nxdomain'; readonly negativeTtl: number | null }
  | { readonly kind: 'error'; readonly failure: DnsFailure; readonly message: string };

export function encodeQuery(id: number, name: string, type: QueryType): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: EDNS_UDP_PAYLOAD,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ],
  });
}

/** Decodes a message; null when it is not one. */
export function decodeResponse(message: Buffer): Response | null {
  try {
    return dnsPacket.decode(message) as Response;
  } catch {
    return null;
  }
}

/** True when the response answers exactly this query; anything else is ignored. */
export function answersQuery(response: Response, id: number, name: string, type: QueryType) {
  if (response.type !== 'response' || response.id !== id) return false;
  if (response.opcode !== undefined && response.opcode !== 'QUERY') return false;
  const questions = response.questions ?? [];
  const question = questions[0];
  return (
    questions.length === 1 &&
    question !== undefined &&
    question.type === type &&
    (question.class ?? 'IN') === 'IN' &&
    wireName(question.name) === name
  );
}

export function readResponse<T extends QueryType>(
  response: Response,
  name: string,
  type: T,
): Outcome<RecordOf<T>> {
  switch (response.rcode ?? 'NOERROR') {
    case 'NOERROR':
      return readAnswers(response, name, type);
    case 'NXDOMAIN':
      return { kind: 'nxdomain', negativeTtl: negativeTtl(response) };
    case 'SERVFAIL':
      return { kind: 'error', failure: 'servfail', message: 'the server answered SERVFAIL' };
    case 'REFUSED':
      return { kind: 'error', failure: 'refused', message: 'the server answered REFUSED' };
    case 'FORMERR':
      return { kind: 'error', failure: 'formerr', message: 'the server answered FORMERR' };
    default:
      return {
        kind: 'error',
        failure: 'servfail',
        message: `the server answered ${response.rcode ?? 'an unknown RCODE'}`,
      };
  }
}

function readAnswers<T extends QueryType>(
  response: Response,
  name: string,
  type: T,
): Outcome<RecordOf<T>> {
  const answers = (response.answers ?? []).filter((rr) => rr.type !== 'OPT' && inClassIn(rr));
  let owner = name;
  let ttl = Infinity;
  const seen = new Set<string>([owner]);
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const matching = answers.filter((rr) => rr.type === type && wireName(rr.name) === owner);
    if (matching.length > 0) {
      for (const rr of matching) ttl = Math.min(ttl, ttlOf(rr));
      return { kind: 'records', records: matching.map((rr) => recordOf(rr, type)), ttl };
    }
    const cname = answers.find(
      (rr): rr is StringAnswer => rr.type === 'CNAME' && wireName(rr.name) === owner,
    );
    if (cname === undefined || typeof cname.data !== 'string') {
      return { kind: 'nodata', negativeTtl: negativeTtl(response) };
    }
    ttl = Math.min(ttl, ttlOf(cname));
    owner = wireName(cname.data);
    if (seen.has(owner)) break;
    seen.add(owner);
  }
  return {
    kind: 'error',
    failure: 'servfail',
    message: `a CNAME loop or chain too long at ${name}`,
  };
}

function recordOf<T extends QueryType>(rr: Answer, type: T): RecordOf<T> {
  if (type === 'MX') {
    const data = (rr as { data: { preference?: number; exchange: string } }).data;
    const mx: MxRecord = { exchange: wireName(data.exchange), preference: data.preference ?? 0 };
    return mx as RecordOf<T>;
  }
  return (rr as { data: string }).data as RecordOf<T>;
}

/** RFC 2308 §5: the negative answer lives min(SOA TTL, SOA MINIMUM) seconds. */
function negativeTtl(response: Response): number | null {
  for (const rr of response.authorities ?? []) {
    if (rr.type !== 'SOA' || !inClassIn(rr)) continue;
    const minimum = rr.data.minimum ?? MAX_TTL;
    return Math.min(ttlOf(rr), minimum > MAX_TTL ? 0 : minimum);
  }
  return null;
}

function ttlOf(rr: Answer): number {
  const ttl = 'ttl' in rr ? (rr.ttl ?? 0) : 0;
  return ttl > MAX_TTL ? 0 : ttl;
}

function inClassIn(rr: Answer): boolean {
  return !('class' in rr) || rr.class === undefined || rr.class === 'IN';
}
