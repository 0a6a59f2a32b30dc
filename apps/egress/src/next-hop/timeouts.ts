// The sender's timeouts (RFC 5321 §4.5.3.2) and which one governs what a
// next-hop connection is waiting for. Each limit applies to one wait: one
// reply, one write making progress. The clock restarts when a reply completes
// or a blocked write drains, not on every byte, so a next hop that dribbles a
// reply a byte at a time still hits the limit.
//
// Does not: run timers (next-hop-connection.ts does).

export interface NextHopTimeouts {
  /** The TCP connection (not in RFC 5321; Postfix's smtp_connect_timeout is 30 s). */
  connectMs: number;
  /** The 220 greeting (§4.5.3.2.1: 5 minutes). */
  greetingMs: number;
  /**
   * Each reply to EHLO, HELO, STARTTLS, AUTH, RSET, MAIL, RCPT, NOOP and QUIT
   * (MAIL §4.5.3.2.2 and RCPT §4.5.3.2.3: 5 minutes; the others take the
   * same), and the TLS handshake.
   */
  commandMs: number;
  /** The 354 after DATA (§4.5.3.2.4: 2 minutes). */
  dataStartMs: number;
  /** Each blocked write to the next hop until it drains (§4.5.3.2.5: 3 minutes). */
  dataBlockMs: number;
  /** The reply to the final dot (§4.5.3.2.6: 10 minutes). */
  dataEndMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<NextHopTimeouts> = Object.freeze({
  connectMs: 30_000,
  greetingMs: 300_000,
  commandMs: 300_000,
  dataStartMs: 120_000,
  dataBlockMs: 180_000,
  dataEndMs: 600_000,
});

/**
 * What a connection waits for:
 * - connect: the TCP handshake (connectMs);
 * - greeting: the 220 (greetingMs);
 * - reply: the reply to a command, `verb` names it (commandMs);
 * - tls-handshake: the TLS handshake after STARTTLS's 220 (commandMs);
 * - data-start: the 354 after DATA, also when DATA ends a pipelined group and
 *   the replies before it have come (dataStartMs);
 * - data-block: a write that the socket buffered past its high-water mark, until
 *   'drain' (dataBlockMs); this takes precedence over the reply awaited;
 * - data-end: the reply to the final dot, once the body has been handed to the
 *   socket (dataEndMs).
 */
export type Wait =
  | { readonly kind: 'connect' }
  | { readonly kind: 'greeting' }
  | { readonly kind: 'reply'; readonly verb: string }
  | { readonly kind: 'tls-handshake' }
  | { readonly kind: 'data-start' }
  | { readonly kind: 'data-block' }
  | { readonly kind: 'data-end' };

/** The limit for a wait, in milliseconds. */
export function timeoutFor(wait: Wait, timeouts: NextHopTimeouts): number {
  switch (wait.kind) {
    case 'connect':
      return timeouts.connectMs;
    case 'greeting':
      return timeouts.greetingMs;
    case 'reply':
    case 'tls-handshake':
      return timeouts.commandMs;
    case 'data-start':
      return timeouts.dataStartMs;
    case 'data-block':
      return timeouts.dataBlockMs;
    case 'data-end':
      return timeouts.dataEndMs;
  }
}

/** The wait in words, for the text of a synthetic reply ("timed out after 300 ms awaiting ..."). */
export function describeWait(wait: Wait): string {
  switch (wait.kind) {
    case 'connect':
      return 'connecting';
    case 'greeting':
      return 'awaiting the greeting';
    case 'reply':
      return `awaiting the reply to ${wait.verb}`;
    case 'tls-handshake':
      return 'in the TLS handshake';
    case 'data-start':
      return 'awaiting the reply to DATA';
    case 'data-block':
      return 'writing the message (no progress)';
    case 'data-end':
      return 'awaiting the reply to the end of data';
  }
}
