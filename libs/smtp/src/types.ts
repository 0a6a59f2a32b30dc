// The data the protocol core hands to its hosts: parsed paths and parameters,
// the transaction of an SMTP session, the questions a host answers and the
// verdicts it answers with. All plain data: JSON-safe except message bodies,
// which are Buffers.

/** RFC 5321 §4.1.2 Mailbox: Local-part "@" ( Domain / address-literal ). */
export interface Mailbox {
  /** The local part as it appeared, quotes and backslashes removed from a quoted string. */
  readonly localPart: string;
  /** True when the local part was a Quoted-string. */
  readonly quoted: boolean;
  /**
   * The domain, lower-cased; for an address literal the literal with its
   * brackets ("[192.0.2.1]", "[ipv6:2001:db8::1]"); null only for <postmaster>.
   */
  readonly domain: string | null;
  /** Set when the domain is an address literal. */
  readonly addressLiteral: AddressLiteral | null;
  /** True when any part holds a non-ASCII (UTF-8) character: needs SMTPUTF8. */
  readonly utf8: boolean;
}

export interface AddressLiteral {
  readonly family: 4 | 6;
  /** Canonical textual address ("192.0.2.1", "2001:db8::1"). */
  readonly address: string;
}

/** A reverse-path or forward-path. */
export interface Path {
  /** RFC 821 source route "@a,@b:" as ["a", "b"], lower-cased; empty when none. */
  readonly route: readonly string[];
  /** null for the null reverse-path <>. */
  readonly mailbox: Mailbox | null;
  /** The path exactly as written between the angle brackets, for logs and replay. */
  readonly raw: string;
}

/** The transaction verbs (RFC 821 §3.4: SEND terminal, SOML terminal or mailbox, SAML terminal and mailbox). */
export type TransactionVerb = 'MAIL' | 'SEND' | 'SOML' | 'SAML';

/** MAIL (and SEND/SOML/SAML) parameters this core understands, RFC 5321 §4.1.1.11. */
export interface MailParameters {
  /** RFC 1870 SIZE=n, the client's estimate. */
  readonly size?: number;
  /** RFC 6152 BODY=7BIT|8BITMIME. */
  readonly body?: '7BIT' | '8BITMIME';
  /** RFC 6531 SMTPUTF8. */
  readonly smtputf8?: true;
  /** RFC 4954 §5 AUTH=<mailbox> or <>, xtext-decoded; null for <>. */
  readonly auth?: string | null;
}

/** RCPT parameters. None is understood yet: DSN's NOTIFY/ORCPT are not offered. */
export type RcptParameters = Readonly<Record<string, never>>;

export interface Recipient {
  readonly forwardPath: Path;
  readonly parameters: RcptParameters;
}

/** The transaction of a session (aiosmtpd's Envelope): MAIL through end of DATA. */
export interface Transaction {
  readonly verb: TransactionVerb;
  readonly reversePath: Path;
  readonly parameters: MailParameters;
  /** Accepted recipients only, in order. */
  readonly recipients: readonly Recipient[];
}
