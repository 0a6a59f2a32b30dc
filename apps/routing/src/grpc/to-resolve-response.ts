// Resolution (the routing domain's answer) → ResolveResponse (the wire's):
// pure, total over the Resolution union, and shared by the Routing service
// and, later, the admin API's "explain a route".
//
// What has no value on the wire is proto3's default: hops and members are
// empty, transport, tls and auth "" for null, reply null (unset) unless the
// decision is reject or defer.

import type { Decision, ResolveResponse, Source } from '@petrel/proto';
import type { Resolution, RouteSource } from '../resolution.js';

const DECISION: Record<Resolution['decision'], Decision> = {
  relay: 'RELAY',
  reject: 'REJECT',
  defer: 'DEFER',
  hold: 'HOLD',
  expand: 'EXPAND',
};

const SOURCE: Record<RouteSource, Source> = {
  'transport-map': 'TRANSPORT_MAP',
  mx: 'MX',
  'implicit-mx': 'IMPLICIT_MX',
  literal: 'LITERAL',
  list: 'LIST',
};

export function toResolveResponse(resolution: Resolution): ResolveResponse {
  const common = {
    decision: DECISION[resolution.decision],
    source: SOURCE[resolution.source],
    cached: resolution.cached,
    transport: resolution.transport ?? '',
    domain: resolution.domain,
  };
  const none = { hops: [], reply: null, tls: '', auth: '', members: [] };
  switch (resolution.decision) {
    case 'relay':
      return {
        ...common,
        ...none,
        hops: resolution.hops.map(({ host, preference, port }) => ({ host, preference, port })),
        tls: resolution.tls ?? '',
        auth: resolution.auth ?? '',
      };
    case 'reject':
    case 'defer': {
      const { code, enhanced, text } = resolution.reply;
      return { ...common, ...none, reply: { code, enhanced, text } };
    }
    case 'hold':
      return { ...common, ...none };
    case 'expand':
      return { ...common, ...none, members: [...resolution.members] };
    default:
      return unreachable(resolution);
  }
}

function unreachable(resolution: never): never {
  throw new Error(`unknown decision in ${JSON.stringify(resolution)}`);
}
