// Size limits of the protocol, with the RFC sections they come from. These are
// the defaults and the minimums a receiver must accept; hosts may raise them.
// All line lengths count the terminating CRLF.

export interface SmtpLimits {
  /** RFC 5321 §4.5.3.1.1: local part of a mailbox. */
  readonly localPart: number;
  /** RFC 5321 §4.5.3.1.2: domain (RFC 821 said 64). */
  readonly domain: number;
  /** RFC 5321 §4.5.3.1.3: reverse-path or forward-path, with the angle brackets. */
  readonly path: number;
  /** RFC 5321 §4.5.3.1.4: command line, with CRLF. */
  readonly commandLine: number;
  /** RFC 5321 §4.5.3.1.5: reply line, with CRLF. */
  readonly replyLine: number;
  /** RFC 5321 §4.5.3.1.6: text line in DATA, with CRLF. */
  readonly textLine: number;
  /** RFC 5321 §4.5.3.1.8: recipients per transaction (the next one gets 452 4.5.3). */
  readonly recipients: number;
  /** Bad commands in one session before 421 (Postfix: smtpd_hard_error_limit 20). */
  readonly errors: number;
  /** Message size in octets after dot-unstuffing (the SIZE extension, RFC 1870). */
  readonly messageSize: number;
  /** RFC 4954 §4: an AUTH continuation line (base64), with CRLF. */
  readonly authLine: number;
}

export const DEFAULT_LIMITS: SmtpLimits = Object.freeze({
  localPart: 64,
  domain: 255,
  path: 256,
  commandLine: 512,
  replyLine: 512,
  textLine: 1000,
  recipients: 100,
  errors: 20,
  messageSize: 26_214_400,
  authLine: 12_288,
});
