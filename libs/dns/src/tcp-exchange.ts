// A query over TCP, for answers too large for UDP (RFC 7766 §5; RFC 1035
// §4.2.2): a fresh connection, the message behind its two-octet length, and
// the first response that answers the query; messages that do not are skipped.
// The connection is destroyed when the exchange ends.
//
// Does not: keep connections open for later queries or pipeline them.

import { connect } from 'node:net';
import { decodeResponse } from './dns-message.js';
import {
  CLOSED,
  networkError,
  timedOut,
  type ExchangeRequest,
  type ExchangeResult,
} from './exchange.js';

export function exchangeTcp(request: ExchangeRequest): Promise<ExchangeResult> {
  if (request.signal.aborted) return Promise.resolve(CLOSED);
  return new Promise((resolve) => {
    const { server } = request;
    const socket = connect({ host: server.host, port: server.port });
    let buffered = Buffer.alloc(0);
    let settled = false;
    const finish = (result: ExchangeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = (): void => finish(CLOSED);
    const timer = setTimeout(() => finish(timedOut(request, 'TCP')), request.timeoutMs);
    request.signal.addEventListener('abort', onAbort, { once: true });

    socket.setNoDelay(true);
    socket.on('error', (err) => finish(networkError(request, err)));
    socket.on('close', () =>
      finish(networkError(request, new Error('the connection closed before an answer'))),
    );
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(request.query.length);
      socket.write(Buffer.concat([prefix, request.query]));
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) return;
        const response = decodeResponse(buffered.subarray(2, 2 + length));
        buffered = buffered.subarray(2 + length);
        if (response !== null && request.accepts(response)) {
          finish({ ok: true, response });
          return;
        }
      }
    });
  });
}
