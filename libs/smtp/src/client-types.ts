// The data the sender-SMTP machine (client-dialog.ts) takes from and gives to
// its host: options, the transaction to replay, per-recipient outcomes and the
// outputs the host acts on. Plain data except message bodies (Buffers).

import type { Extensions } from './extensions.js';
import type { SmtpLimits } from './limits.js';
import type { Reply } from './replies.js';
import type { Path, TransactionVerb } from './types.js';

export interface ClientOptions {
  /** The name sent in EHLO/HELO: a domain or an address literal, no spaces or controls. */
  readonly heloName: string;
  /** 'opportunistic': STARTTLS when offered; 'required': fail unless TLS is in effect before MAIL. */
  readonly tls: 'none' | 'opportunistic' | 'required';
  /** The socket is already TLS (implicit TLS, RFC 8314): no STARTTLS. */
  readonly tlsActive?: boolean;
  /**
   * AUTH PLAIN (or LOGIN when only that is offered), RFC 4954. Configured
   * credentials mean authentication is required: a next hop that offers no
   * usable mechanism fails the session with a synthetic 4yz.
   */
  readonly credentials?: { readonly username: string; readonly password: string } | null;
  /** Send credentials without TLS. Default false. */
  readonly allowPlaintextAuth?: boolean;
  /** Use PIPELINING (RFC 2920) when offered. Default true. */
  readonly pipelining?: boolean;
  readonly limits?: Partial<SmtpLimits>;
}

export interface OutboundTransaction {
  /** MAIL, or the RFC 821 SEND, SOML or SAML replayed (SOML/SAML fall back to MAIL on 500/502). */
  readonly verb: TransactionVerb;
  readonly reversePath: Path;
  /** Forward-paths; at most limits.recipients (the host splits larger groups). */
  readonly recipients: readonly Path[];
  /** Octets of the body, for SIZE= (RFC 1870). */
  readonly size: number;
  /** The body has 8-bit octets: BODY=8BITMIME when offered, and sent as is when not. */
  readonly eightBit: boolean;
  /** Envelope or headers need SMTPUTF8 (RFC 6531); also implied by a non-ASCII path. */
  readonly smtputf8: boolean;
  /** The stored message with CRLF line ends, not dot-stuffed. */
  readonly body: readonly Buffer[];
}

/**
 * Where a recipient's outcome was decided: at its RCPT, at DATA or the end of
 * data, at MAIL (or the RSET before it), by a lost connection or protocol
 * violation, or before anything was sent because the next hop lacks an
 * extension (SIZE, SMTPUTF8).
 */
export type OutcomeStage = 'rcpt' | 'data' | 'mail' | 'connection' | 'extension';

/** The final reply that applies to one recipient of a transaction. */
export interface RecipientOutcome {
  readonly recipient: Path;
  readonly stage: OutcomeStage;
  readonly reply: Reply;
  /** True when Petrel made the reply up (no reply from the next hop applies): a DSN must not call it the next hop's. */
  readonly synthetic: boolean;
}

export type ClientOutput =
  /** Write these bytes, in order (one batch: with PIPELINING a whole RSET/MAIL/RCPT.../DATA group). */
  | { readonly kind: 'send'; readonly data: Buffer[] }
  /** Upgrade the socket to TLS, then call tlsStarted(). Read nothing from the socket meanwhile. */
  | { readonly kind: 'start-tls' }
  /** The session is established (or idle again after NOOP): send() or quit() may be called. */
  | { readonly kind: 'ready'; readonly extensions: Extensions }
  /** The answer to one send(): one outcome per recipient, in the transaction's order. */
  | {
      readonly kind: 'transaction-done';
      readonly outcomes: RecipientOutcome[];
      readonly verbUsed: TransactionVerb;
    }
  /** The session cannot go on; the host closes the connection (after writing any send before it). */
  | {
      readonly kind: 'failed';
      readonly stage: FailureStage;
      readonly reply: Reply;
      readonly synthetic: boolean;
    }
  /** QUIT was answered (or the peer closed after QUIT): close the connection. */
  | { readonly kind: 'close' };

/** The step of the session where it failed. */
export type FailureStage =
  | 'greeting'
  | 'ehlo'
  | 'helo'
  | 'starttls'
  | 'tls'
  | 'auth'
  | 'idle'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'noop';

export type ClientState =
  | 'greeting'
  | 'ehlo'
  | 'helo'
  | 'starttls'
  | 'tls-handshake'
  | 'auth'
  | 'ready'
  | 'transaction'
  | 'noop'
  | 'quit'
  | 'closed'
  | 'failed';
