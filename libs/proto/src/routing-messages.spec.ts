import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProto, PROTO_DIR } from './load-proto.js';
import {
  DECISIONS,
  SOURCES,
  type NextHop,
  type Reply,
  type ResolveRequest,
  type ResolveResponse,
} from './routing-messages.js';
import { resolveMethod } from './routing-package.js';

const definition = loadProto('petrel/routing/v1/routing.proto');

interface Descriptor {
  format: string;
  type: { field?: { name: string }[]; value?: { name: string; number: number }[] };
}

function descriptor(name: string): Descriptor {
  return definition[`petrel.routing.v1.${name}`] as unknown as Descriptor;
}

/** The message's field names as proto-loader gives them with keepCase false. */
function fieldNames(message: string): string[] {
  const fields = descriptor(message).type.field ?? [];
  return fields.map((f) => f.name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())).sort();
}

// Typed samples: the compiler checks that each has every field of its
// interface and no other, the specs that the .proto has exactly these fields.
const hop: NextHop = { host: 'mx1.example.com', preference: 10, port: 25 };
const reply: Reply = { code: 450, enhanced: '4.4.3', text: 'DNS lookup failed' };
const request: ResolveRequest = { query: 'user@example.com', trusted: true };
const response: ResolveResponse = {
  decision: 'DEFER',
  hops: [hop, { host: '192.0.2.7', preference: 20, port: 2525 }],
  source: 'IMPLICIT_MX',
  cached: true,
  reply,
  transport: '.example.com',
  tls: 'required',
  auth: 'smarthost',
  members: ['a@example.com', 'b@example.org'],
  domain: 'example.com',
};

describe('PROTO_DIR', () => {
  it('is the absolute path of the shipped proto/ folder', () => {
    expect(isAbsolute(PROTO_DIR)).toBe(true);
    expect(existsSync(join(PROTO_DIR, 'petrel/routing/v1/routing.proto'))).toBe(true);
  });
});

describe('the message types match routing.proto as proto-loader loads it', () => {
  it.each([
    ['ResolveRequest', request],
    ['ResolveResponse', response],
    ['NextHop', hop],
    ['Reply', reply],
  ])('%s has the same fields', (message, sample) => {
    expect(Object.keys(sample).sort()).toEqual(fieldNames(message));
  });

  it('Decision and Source list the enum values in number order', () => {
    const names = (e: string) => descriptor(e).type.value?.map((v) => v.name);
    const numbers = (e: string) => descriptor(e).type.value?.map((v) => v.number);
    expect(names('Decision')).toEqual([...DECISIONS]);
    expect(numbers('Decision')).toEqual(DECISIONS.map((_, i) => i));
    expect(names('Source')).toEqual([...SOURCES]);
    expect(numbers('Source')).toEqual(SOURCES.map((_, i) => i));
  });

  it('round-trips a request and a response through the service (de)serializers', () => {
    const method = resolveMethod();
    expect(method.path).toBe('/petrel.routing.v1.Routing/Resolve');
    expect(method.requestDeserialize(method.requestSerialize(request))).toEqual(request);
    expect(method.responseDeserialize(method.responseSerialize(response))).toEqual(response);
  });

  it('fills every field with its default on receipt, and an unset reply with null', () => {
    const method = resolveMethod();
    const empty: ResolveResponse = {
      decision: 'DECISION_UNSPECIFIED',
      hops: [],
      source: 'SOURCE_UNSPECIFIED',
      cached: false,
      reply: null,
      transport: '',
      tls: '',
      auth: '',
      members: [],
      domain: '',
    };
    expect(method.responseDeserialize(Buffer.alloc(0))).toEqual(empty);
    expect(method.requestDeserialize(Buffer.alloc(0))).toEqual({ query: '', trusted: false });
    const relay: ResolveResponse = { ...empty, decision: 'RELAY', source: 'MX', hops: [hop] };
    expect(method.responseDeserialize(method.responseSerialize(relay))).toEqual(relay);
  });

  it('carries the enums as their names and uint32 as numbers', () => {
    const method = resolveMethod();
    const back = method.responseDeserialize(method.responseSerialize(response));
    expect(typeof back.decision).toBe('string');
    expect(typeof back.hops[0]?.preference).toBe('number');
    expect(typeof back.reply?.code).toBe('number');
  });
});
