// The catalogue of every reply Petrel's receiver gives on its own account, by
// name, with its code, its RFC 3463 enhanced status code and the RFC section it
// answers. Replies a host supplies in a verdict (relay denied, queued as, a
// deferral) are built with `reply()` too, so every reply has one shape.
//
// Does not: format bytes (reply-format.ts) or decide which reply a situation
// gets (the server session and verdict mapping do).

export interface Reply {
  /** Three-digit reply code, RFC 5321 §4.2. */
  readonly code: number;
  /** RFC 3463 enhanced status code ("5.7.1"), or undefined for 220/221 greetings, 334 and EHLO. */
  readonly enhanced: string | undefined;
  /** One string per line, without code or CRLF. At least one. */
  readonly lines: readonly string[];
  /** Catalogue name, for metrics, logs and tests. `custom` when a host built it. */
  readonly name: ReplyName | 'custom';
}

interface ReplySpec {
  readonly code: number;
  readonly enhanced?: string;
  readonly text: string;
  readonly rfc: string;
}

export const REPLY_CATALOGUE = {
  // Greetings carry no enhanced code (RFC 2034 §3: not on 220 greetings or EHLO/HELO).
  greeting: { code: 220, text: 'ESMTP', rfc: 'RFC 5321 §4.2, §3.1' },
  heloOk: { code: 250, text: 'Hello', rfc: 'RFC 5321 §4.1.1.1' },
  ehloOk: { code: 250, text: 'Hello', rfc: 'RFC 5321 §4.1.1.1, RFC 1869 §4.3' },
  // 2yz
  ok: { code: 250, enhanced: '2.0.0', text: 'Ok', rfc: 'RFC 5321 §4.1.1.5, §4.1.1.9' },
  mailOk: { code: 250, enhanced: '2.1.0', text: 'Ok', rfc: 'RFC 5321 §4.1.1.2' },
  rcptOk: { code: 250, enhanced: '2.1.5', text: 'Ok', rfc: 'RFC 5321 §4.1.1.3' },
  queued: { code: 250, enhanced: '2.0.0', text: 'Ok: queued', rfc: 'RFC 5321 §4.1.1.4' },
  expnList: { code: 250, enhanced: '2.1.5', text: 'Ok', rfc: 'RFC 5321 §3.5.2' },
  help: {
    code: 214,
    enhanced: '2.0.0',
    text: 'Commands: HELO EHLO MAIL RCPT DATA SEND SOML SAML RSET VRFY EXPN HELP NOOP QUIT',
    rfc: 'RFC 5321 §4.1.1.8',
  },
  cannotVrfy: {
    code: 252,
    enhanced: '2.5.2',
    text: 'Cannot VRFY user, but will accept message and attempt delivery',
    rfc: 'RFC 5321 §3.5.3',
  },
  closing: { code: 221, enhanced: '2.0.0', text: 'Bye', rfc: 'RFC 5321 §4.1.1.10' },
  authSucceeded: {
    code: 235,
    enhanced: '2.7.0',
    text: 'Authentication successful',
    rfc: 'RFC 4954 §6',
  },
  // 3yz
  authChallenge: { code: 334, text: '', rfc: 'RFC 4954 §4' },
  startData: { code: 354, text: 'End data with <CR><LF>.<CR><LF>', rfc: 'RFC 5321 §4.1.1.4' },
  // 220 on STARTTLS
  readyToStartTls: { code: 220, enhanced: '2.0.0', text: 'Ready to start TLS', rfc: 'RFC 3207 §4' },
  // 4yz
  serviceUnavailable: {
    code: 421,
    enhanced: '4.3.2',
    text: 'Service not available, closing transmission channel',
    rfc: 'RFC 5321 §3.8',
  },
  tooManyErrors: {
    code: 421,
    enhanced: '4.7.0',
    text: 'Too many errors, closing connection',
    rfc: 'RFC 5321 §4.3.2',
  },
  timeout: {
    code: 421,
    enhanced: '4.4.2',
    text: 'Timeout exceeded, closing connection',
    rfc: 'RFC 5321 §4.5.3.2',
  },
  localError: {
    code: 451,
    enhanced: '4.3.0',
    text: 'Requested action aborted: local error in processing',
    rfc: 'RFC 5321 §4.2.2, RFC 3463 §3.4',
  },
  insufficientStorage: {
    code: 452,
    enhanced: '4.3.1',
    text: 'Insufficient system storage',
    rfc: 'RFC 5321 §4.2.2, RFC 1870 §6.1',
  },
  tooManyRecipients: {
    code: 452,
    enhanced: '4.5.3',
    text: 'Too many recipients',
    rfc: 'RFC 5321 §4.5.3.1.10',
  },
  tlsNotAvailable: {
    code: 454,
    enhanced: '4.7.0',
    text: 'TLS not available due to temporary reason',
    rfc: 'RFC 3207 §4',
  },
  authTemporaryFailure: {
    code: 454,
    enhanced: '4.7.0',
    text: 'Temporary authentication failure',
    rfc: 'RFC 4954 §6',
  },
  // 5yz
  unknownCommand: {
    code: 500,
    enhanced: '5.5.2',
    text: 'Syntax error, command unrecognized',
    rfc: 'RFC 5321 §4.2.4',
  },
  lineTooLong: { code: 500, enhanced: '5.5.2', text: 'Line too long', rfc: 'RFC 5321 §4.5.3.1.10' },
  authLineTooLong: {
    code: 500,
    enhanced: '5.5.6',
    text: 'Authentication exchange line is too long',
    rfc: 'RFC 4954 §4',
  },
  syntaxError: {
    code: 501,
    enhanced: '5.5.4',
    text: 'Syntax error in parameters or arguments',
    rfc: 'RFC 5321 §4.2.2',
  },
  badCharacter: {
    code: 501,
    enhanced: '5.5.2',
    text: 'Syntax error: NUL, bare CR or bare LF in command',
    rfc: 'RFC 5321 §2.3.8',
  },
  badSenderSyntax: {
    code: 501,
    enhanced: '5.1.7',
    text: 'Bad sender address syntax',
    rfc: 'RFC 5321 §4.1.2, RFC 3463 §3.2',
  },
  badRecipientSyntax: {
    code: 501,
    enhanced: '5.1.3',
    text: 'Bad recipient address syntax',
    rfc: 'RFC 5321 §4.1.2, RFC 3463 §3.2',
  },
  senderPathTooLong: {
    code: 501,
    enhanced: '5.1.7',
    text: 'Path too long',
    rfc: 'RFC 5321 §4.5.3.1.3',
  },
  recipientPathTooLong: {
    code: 501,
    enhanced: '5.1.3',
    text: 'Path too long',
    rfc: 'RFC 5321 §4.5.3.1.3',
  },
  authCancelled: {
    code: 501,
    enhanced: '5.0.0',
    text: 'Authentication cancelled',
    rfc: 'RFC 4954 §4',
  },
  badBase64: { code: 501, enhanced: '5.5.2', text: 'Invalid base64 data', rfc: 'RFC 4954 §4' },
  notImplemented: {
    code: 502,
    enhanced: '5.5.1',
    text: 'Command not implemented',
    rfc: 'RFC 5321 §4.2.4',
  },
  badSequence: {
    code: 503,
    enhanced: '5.5.1',
    text: 'Bad sequence of commands',
    rfc: 'RFC 5321 §4.1.4',
  },
  alreadyAuthenticated: {
    code: 503,
    enhanced: '5.5.1',
    text: 'Already authenticated',
    rfc: 'RFC 4954 §4',
  },
  parameterNotImplemented: {
    code: 504,
    enhanced: '5.5.4',
    text: 'Command parameter not implemented',
    rfc: 'RFC 5321 §4.2.4',
  },
  unknownAuthMechanism: {
    code: 504,
    enhanced: '5.5.4',
    text: 'Unrecognized authentication type',
    rfc: 'RFC 4954 §4',
  },
  authRequired: {
    code: 530,
    enhanced: '5.7.0',
    text: 'Authentication required',
    rfc: 'RFC 4954 §6',
  },
  authFailed: {
    code: 535,
    enhanced: '5.7.8',
    text: 'Authentication credentials invalid',
    rfc: 'RFC 4954 §6',
  },
  encryptionRequired: {
    code: 538,
    enhanced: '5.7.11',
    text: 'Encryption required for requested authentication mechanism',
    rfc: 'RFC 4954 §6',
  },
  messageTooBig: {
    code: 552,
    enhanced: '5.3.4',
    text: 'Message size exceeds fixed maximum message size',
    rfc: 'RFC 1870 §6.1, RFC 5321 §4.5.3.1.10',
  },
  senderLocalPartTooLong: {
    code: 553,
    enhanced: '5.1.7',
    text: 'Local part too long',
    rfc: 'RFC 5321 §4.5.3.1.1',
  },
  recipientLocalPartTooLong: {
    code: 553,
    enhanced: '5.1.3',
    text: 'Local part too long',
    rfc: 'RFC 5321 §4.5.3.1.1',
  },
  senderDomainTooLong: {
    code: 553,
    enhanced: '5.1.7',
    text: 'Domain too long',
    rfc: 'RFC 5321 §4.5.3.1.2',
  },
  recipientDomainTooLong: {
    code: 553,
    enhanced: '5.1.3',
    text: 'Domain too long',
    rfc: 'RFC 5321 §4.5.3.1.2',
  },
  utf8NeedsSmtputf8: {
    code: 553,
    enhanced: '5.6.7',
    text: 'Non-ASCII address requires SMTPUTF8',
    rfc: 'RFC 6531 §3.4, RFC 6533',
  },
  noValidRecipients: {
    code: 554,
    enhanced: '5.5.1',
    text: 'No valid recipients',
    rfc: 'RFC 5321 §3.3, RFC 2920 §3.1',
  },
  relayDenied: {
    code: 554,
    enhanced: '5.7.1',
    text: 'Relay access denied',
    rfc: 'RFC 5321 §3.6.2, RFC 3463 §3.8',
  },
  transactionFailed: {
    code: 554,
    enhanced: '5.0.0',
    text: 'Transaction failed',
    rfc: 'RFC 5321 §4.2.3',
  },
  dataBareLineEnding: {
    code: 554,
    enhanced: '5.6.0',
    text: 'Message refused: bare CR or LF in message data; lines must end with CRLF',
    rfc: 'RFC 5321 §2.3.8, §4.1.1.4',
  },
  dataLineTooLong: {
    code: 554,
    enhanced: '5.6.0',
    text: 'Message refused: a line is longer than 1000 octets',
    rfc: 'RFC 5321 §4.5.3.1.6',
  },
  unknownParameter: {
    code: 555,
    enhanced: '5.5.4',
    text: 'MAIL FROM/RCPT TO parameters not recognized or not implemented',
    rfc: 'RFC 5321 §4.1.1.11',
  },
} as const satisfies Record<string, ReplySpec>;

export type ReplyName = keyof typeof REPLY_CATALOGUE;

/** The catalogue reply `name`, optionally with other text (one string per line). */
export function reply(name: ReplyName, text?: string | readonly string[]): Reply {
  const spec: ReplySpec = REPLY_CATALOGUE[name];
  const lines = text === undefined ? [spec.text] : typeof text === 'string' ? [text] : text;
  return { code: spec.code, enhanced: spec.enhanced, lines, name };
}

/** A reply that is not in the catalogue: a host's own decision or a next hop's. */
export function customReply(
  code: number,
  enhanced: string | undefined,
  text: string | readonly string[],
): Reply {
  const lines = typeof text === 'string' ? [text] : text;
  return { code, enhanced, lines, name: 'custom' };
}

export function replyClass(code: number): 2 | 3 | 4 | 5 {
  const c = Math.floor(code / 100);
  if (c === 2 || c === 3 || c === 4 || c === 5) return c;
  throw new RangeError(`not a reply code: ${code}`);
}
