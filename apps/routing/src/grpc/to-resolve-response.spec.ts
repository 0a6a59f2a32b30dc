import type { ResolveResponse } from '@petrel/proto';
import { describe, expect, it } from 'vitest';
import type { Resolution, RouteSource } from '../resolution.js';
import { toResolveResponse } from './to-resolve-response.js';

const answered = {
  domain: 'example.com',
  source: 'mx',
  cached: false,
  transport: null,
} as const;

const empty: ResolveResponse = {
  decision: 'DECISION_UNSPECIFIED',
  hops: [],
  source: 'MX',
  cached: false,
  reply: null,
  transport: '',
  tls: '',
  auth: '',
  members: [],
  domain: 'example.com',
};

describe('toResolveResponse', () => {
  it('maps relay with its hops, tls and auth', () => {
    const resolution: Resolution = {
      ...answered,
      source: 'transport-map',
      cached: true,
      transport: '.example.com',
      decision: 'relay',
      hops: [
        { host: 'mx1.example.com', preference: 10, port: 25 },
        { host: '192.0.2.1', preference: 20, port: 2525 },
      ],
      tls: 'required',
      auth: 'smarthost',
    };
    expect(toResolveResponse(resolution)).toEqual({
      ...empty,
      decision: 'RELAY',
      source: 'TRANSPORT_MAP',
      cached: true,
      transport: '.example.com',
      hops: resolution.hops,
      tls: 'required',
      auth: 'smarthost',
    });
  });

  it('maps null transport, tls and auth to ""', () => {
    const response = toResolveResponse({
      ...answered,
      decision: 'relay',
      hops: [],
      tls: null,
      auth: null,
    });
    expect(response).toMatchObject({ decision: 'RELAY', transport: '', tls: '', auth: '' });
  });

  it('maps reject and defer with their reply, hold with nothing, expand with its members', () => {
    const reply = { code: 550, enhanced: '5.1.2', text: 'no such domain' };
    expect(toResolveResponse({ ...answered, decision: 'reject', reply })).toEqual({
      ...empty,
      decision: 'REJECT',
      reply,
    });
    const later = { code: 451, enhanced: '4.4.3', text: 'try later' };
    expect(toResolveResponse({ ...answered, decision: 'defer', reply: later })).toEqual({
      ...empty,
      decision: 'DEFER',
      reply: later,
    });
    expect(toResolveResponse({ ...answered, decision: 'hold' })).toEqual({
      ...empty,
      decision: 'HOLD',
    });
    expect(
      toResolveResponse({ ...answered, source: 'list', decision: 'expand', members: ['a@b.c'] }),
    ).toEqual({ ...empty, decision: 'EXPAND', source: 'LIST', members: ['a@b.c'] });
  });

  it.each([
    ['transport-map', 'TRANSPORT_MAP'],
    ['mx', 'MX'],
    ['implicit-mx', 'IMPLICIT_MX'],
    ['literal', 'LITERAL'],
    ['list', 'LIST'],
  ] as const)('maps source %s to %s', (source: RouteSource, wire) => {
    expect(toResolveResponse({ ...answered, source, decision: 'hold' }).source).toBe(wire);
  });

  it('copies only the wire fields, whatever else a domain object carries', () => {
    const hop = { host: 'mx.example.com', preference: 0, port: 25, extra: 'x' };
    const response = toResolveResponse({
      ...answered,
      decision: 'relay',
      hops: [hop],
      tls: null,
      auth: null,
    });
    expect(response.hops).toEqual([{ host: 'mx.example.com', preference: 0, port: 25 }]);
  });
});
