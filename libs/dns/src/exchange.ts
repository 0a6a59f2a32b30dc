// One query sent to one server and the one response that answers it: the
// contract udp-exchange.ts and tcp-exchange.ts share. An exchange never
// throws; it ends with the accepted response, a timeout, or a network failure
// (a socket error, or the resolver closed through the signal).
//
// Does not: interpret the response (dns-message.ts) or retry (dns-resolver.ts).

import type { Response } from './dns-message.js';
import type { ServerAddress } from './server-address.js';

export interface ExchangeRequest {
  readonly server: ServerAddress;
  /** The encoded query, without the TCP length prefix. */
  readonly query: Buffer;
  /** True for the response that answers the query; other messages are ignored. */
  readonly accepts: (response: Response) => boolean;
  readonly timeoutMs: number;
  /** Aborted when the resolver closes: the exchange ends at once as 'network'. */
  readonly signal: AbortSignal;
}

export type ExchangeResult =
  | { readonly ok: true; readonly response: Response }
  | { readonly ok: false; readonly failure: 'timeout' | 'network'; readonly message: string };

export const CLOSED: ExchangeResult & { readonly ok: false } = {
  ok: false,
  failure: 'network',
  message: 'the resolver was closed',
};

export function timedOut(request: ExchangeRequest, transport: 'UDP' | 'TCP'): ExchangeResult {
  return {
    ok: false,
    failure: 'timeout',
    message: `no answer from ${request.server.label} over ${transport} within ${request.timeoutMs} ms`,
  };
}

export function networkError(request: ExchangeRequest, error: Error): ExchangeResult {
  return { ok: false, failure: 'network', message: `${request.server.label}: ${error.message}` };
}
