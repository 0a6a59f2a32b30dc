// A query over UDP (RFC 1035 §4.2.1) on a socket of its own: a fresh random
// source port per query, connected to the server so that the kernel drops
// datagrams from anyone else; a datagram is still checked against the peer's
// address and port, and must answer the query (id and question) or it is
// ignored while the exchange keeps waiting (RFC 5452 §9.1). The socket is
// closed when the exchange ends, so nothing outlives it.
//
// Does not: retry, or act on the TC bit (the caller repeats over TCP).

import { createSocket } from 'node:dgram';
import { decodeResponse } from './dns-message.js';
import {
  CLOSED,
  networkError,
  timedOut,
  type ExchangeRequest,
  type ExchangeResult,
} from './exchange.js';

export function exchangeUdp(request: ExchangeRequest): Promise<ExchangeResult> {
  if (request.signal.aborted) return Promise.resolve(CLOSED);
  return new Promise((resolve) => {
    const { server } = request;
    const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    let peer: { address: string; port: number } | null = null;
    let settled = false;
    const finish = (result: ExchangeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(result);
    };
    const onAbort = (): void => finish(CLOSED);
    const timer = setTimeout(() => finish(timedOut(request, 'UDP')), request.timeoutMs);
    request.signal.addEventListener('abort', onAbort, { once: true });

    socket.on('error', (err) => finish(networkError(request, err)));
    socket.on('message', (message, from) => {
      if (peer === null || from.address !== peer.address || from.port !== peer.port) return;
      const response = decodeResponse(message);
      if (response !== null && request.accepts(response)) finish({ ok: true, response });
    });
    // Without a callback, a failed connect is an 'error' event like any other.
    socket.once('connect', () => {
      if (settled) return;
      peer = socket.remoteAddress();
      socket.send(request.query, (err) => {
        if (err) finish(networkError(request, err));
      });
    });
    socket.connect(server.port, server.host);
  });
}
