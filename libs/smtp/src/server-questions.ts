// What the server session asks its host, what the host answers, and the one
// function that turns an answer into the reply the client sees.
//
// STYLE: "Policy answers with a verdict; the core owns the reply." A host never
// writes to the client: it answers accept, reject, defer or disconnect, and
// may supply the reply text for a rejection. Failure defaults are asymmetric:
// a defer without a reply is 451 4.3.0 (our fault, temporary); a recipient
// rejected without a reply is 554 5.7.1 Relay access denied; the only way to
// produce the 250 after DATA is an accept answer to "store".

import type { Path, Recipient, MailParameters, Transaction, TransactionVerb } from './types.js';
import type { SaslCredentials } from './sasl.js';
import { reply, type Reply, type ReplyName } from './replies.js';

export type Question =
  /** MAIL, SEND, SOML or SAML: may this transaction start? (rate limits, storage watermark) */
  | {
      readonly kind: 'mail';
      readonly verb: TransactionVerb;
      readonly reversePath: Path;
      readonly parameters: MailParameters;
    }
  /** RCPT: may this recipient be accepted? (relay permission) */
  | { readonly kind: 'rcpt'; readonly recipient: Recipient; readonly transaction: Transaction }
  /** End of DATA: store this message durably, then accept with its queue id. */
  | {
      readonly kind: 'store';
      readonly transaction: Transaction;
      /** The unstuffed message as received, CRLF line ends; concatenate the slices. */
      readonly body: readonly Buffer[];
      readonly size: number;
    }
  /** AUTH: are these credentials valid? */
  | { readonly kind: 'auth'; readonly credentials: SaslCredentials }
  /** EXPN (only asked when EXPN is enabled): the members of this list. */
  | { readonly kind: 'expn'; readonly argument: string }
  /** TURN (only asked when TURN is enabled and the client is authenticated). */
  | { readonly kind: 'turn' };

export type QuestionKind = Question['kind'];

export type Verdict =
  | {
      readonly kind: 'accept';
      /** store: the queue id that goes into "250 2.0.0 Ok: queued as <id>". Required for store. */
      readonly queueId?: string;
      /** expn: the list members, one reply line each. */
      readonly lines?: readonly string[];
    }
  | { readonly kind: 'reject'; readonly reply?: Reply }
  | { readonly kind: 'defer'; readonly reply?: Reply }
  /** 421 (the given reply or 421 4.3.2) and close the session. */
  | { readonly kind: 'disconnect'; readonly reply?: Reply };

export const accept = (queueId?: string): Verdict =>
  queueId === undefined ? { kind: 'accept' } : { kind: 'accept', queueId };
export const reject = (r?: Reply): Verdict =>
  r === undefined ? { kind: 'reject' } : { kind: 'reject', reply: r };
export const defer = (r?: Reply): Verdict =>
  r === undefined ? { kind: 'defer' } : { kind: 'defer', reply: r };
export const disconnect = (r?: Reply): Verdict =>
  r === undefined ? { kind: 'disconnect' } : { kind: 'disconnect', reply: r };

const ACCEPT_REPLY: Record<QuestionKind, ReplyName> = {
  mail: 'mailOk',
  rcpt: 'rcptOk',
  store: 'queued',
  auth: 'authSucceeded',
  expn: 'expnList',
  turn: 'ok',
};

const REJECT_REPLY: Record<QuestionKind, ReplyName> = {
  mail: 'transactionFailed',
  rcpt: 'relayDenied',
  store: 'transactionFailed',
  auth: 'authFailed',
  expn: 'notImplemented',
  turn: 'notImplemented',
};

const DEFER_REPLY: Record<QuestionKind, ReplyName> = {
  mail: 'localError',
  rcpt: 'localError',
  store: 'localError',
  auth: 'authTemporaryFailure',
  expn: 'localError',
  turn: 'localError',
};

/**
 * The reply for a verdict. A host-supplied reply of the wrong class is not
 * trusted: a reject must be 5yz, a defer 4yz, a disconnect 421; anything else
 * falls back to the default of that verdict.
 */
export function replyForVerdict(question: Question, verdict: Verdict): Reply {
  switch (verdict.kind) {
    case 'accept': {
      if (question.kind === 'store') {
        if (
          verdict.queueId === undefined ||
          verdict.queueId === '' ||
          /[\r\n\0]/.test(verdict.queueId)
        ) {
          throw new TypeError('accept of store needs a queue id (without CR, LF or NUL)');
        }
        return reply('queued', `Ok: queued as ${verdict.queueId}`);
      }
      if (question.kind === 'expn' && verdict.lines !== undefined && verdict.lines.length > 0) {
        return reply('expnList', verdict.lines);
      }
      return reply(ACCEPT_REPLY[question.kind]);
    }
    case 'reject':
      return classed(verdict.reply, 5) ?? reply(REJECT_REPLY[question.kind]);
    case 'defer':
      return classed(verdict.reply, 4) ?? reply(DEFER_REPLY[question.kind]);
    case 'disconnect':
      return verdict.reply !== undefined && verdict.reply.code === 421
        ? verdict.reply
        : reply('serviceUnavailable');
  }
}

function classed(r: Reply | undefined, cls: 4 | 5): Reply | undefined {
  return r !== undefined && Math.floor(r.code / 100) === cls ? r : undefined;
}
