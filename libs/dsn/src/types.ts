// The data a delivery status notification is built from, and what comes out.
// Plain data: every date, id and boundary is an input, so that building a DSN
// is a pure function (no clock, no randomness, no I/O).
//
// RFC 3464 §2.3.3 (Action), §2.3.4 (Status, RFC 3463 codes), §2.3.5
// (Remote-MTA), §2.3.6 (Diagnostic-Code), RFC 3461 §4.3 (RET), RFC 6533
// (UTF-8 addresses).

/** RFC 3464 §2.3.3 action-value. */
export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface DsnDiagnostic {
  /**
   * smtp: a reply from the remote MTA ("550 5.1.1 No such user");
   * x-petrel: Petrel's own (local) diagnosis.
   */
  readonly type: 'smtp' | 'x-petrel';
  /**
   * One line, or the lines of a multi-line reply; lines are joined by a space.
   * Remote text is untrusted: line breaks and runs of white space become one
   * space, other control characters become "?", and non-ASCII characters
   * become "\x{HHHH}" unless the DSN is a UTF-8 one (see Dsn.utf8).
   */
  readonly text: string | readonly string[];
}

export interface DsnRecipient {
  /** The address as it was sent to (or would have been), without angle brackets. */
  readonly finalRecipient: string;
  /** The address the client gave, when a list expansion or rewrite changed it. */
  readonly originalRecipient?: string;
  readonly action: DsnAction;
  /**
   * RFC 3463 status, e.g. "5.1.2". Its class must agree with the action: 2 for
   * delivered, relayed and expanded; 4 or 5 for failed and delayed (an expired
   * message is "failed" with a 4.x.x status, as in Postfix).
   */
  readonly status: string;
  readonly diagnostic?: DsnDiagnostic;
  /** The host that gave the reply (Remote-MTA: dns; <name>), when a remote MTA did. */
  readonly remoteMta?: string;
  readonly lastAttemptDate?: Date;
  /** For 'delayed': when the mail system will give up. */
  readonly willRetryUntil?: Date;
}

export interface DsnInput {
  /** The reporting MTA's host name (Reporting-MTA: dns; <name>, and the From: domain). */
  readonly reportingMta: string;
  /** Petrel's queue id of the original message (X-Petrel-Queue-ID, and the human text). */
  readonly queueId: string;
  readonly arrivalDate: Date;
  /** When the DSN is made (Date: header). */
  readonly date: Date;
  /** The Message-ID of the DSN itself, without angle brackets. */
  readonly messageId: string;
  /**
   * The MIME boundary, 1 to 70 RFC 2046 bchars. buildDsn throws a DsnError
   * with code 'boundary-collision' when it occurs anywhere in the original or
   * in the generated parts; the caller then retries with another boundary.
   */
  readonly boundary: string;
  /**
   * The reverse-path of the original message, without angle brackets: the
   * DSN's To:. Never the null reverse-path: a message from <> gets no DSN, and
   * the caller must not ask for one (dsnAddress throws on it).
   */
  readonly to: string;
  /** At least one. */
  readonly recipients: readonly DsnRecipient[];
  /**
   * The original message as stored (headers + body). CRLF line ends only: a
   * bare CR or LF makes buildDsn throw (code 'bare-line-end').
   */
  readonly original: Uint8Array;
  /** 'headers' (default, RET=HDRS): text/rfc822-headers; 'full': message/rfc822. */
  readonly returnContent?: 'headers' | 'full';
}

export interface Dsn {
  /** The whole message, CRLF line ends, ending with CRLF. */
  readonly bytes: Buffer;
  /** True when the DSN holds octets over 127: the caller must send it with BODY=8BITMIME. */
  readonly eightBit: boolean;
  /**
   * True when an address in it is non-ASCII: it needs SMTPUTF8, and its
   * report is message/global-delivery-status (RFC 6533).
   */
  readonly utf8: boolean;
}
