// Runs transcript files against the server machine in memory: the H: lines
// answer its questions, O: lines are its options, X: lines its host events.
// The format (documented there), its parser and the reply matcher are shared
// with ingress, which runs the same files over TCP: @petrel/testing's
// transcript.ts.

import {
  accept,
  customReply,
  defer,
  disconnect,
  formatPath,
  reject,
  ServerSession,
  type Question,
  type QuestionKind,
  type Reply,
  type ServerOptions,
  type ServerOutput,
  type Verdict,
} from '../../src/index.js';
import { matchReplyLine, parseTranscript, type HostQuestion, type Step } from '@petrel/testing';

// The shared grammar names the host's questions itself: they must stay @petrel/smtp's.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _questionsMatch: Same<HostQuestion, QuestionKind> = true;

/** Parses "code enhanced text" of an H: verdict, enhanced optional. */
export function parseReplySpec(text: string): Reply | undefined {
  const m = /^(\d{3})(?:\s+(\d\.\d{1,3}\.\d{1,3}))?(?:\s+(.*))?$/.exec(text.trim());
  if (!m) return undefined;
  return customReply(Number(m[1]), m[2], m[3] ?? '');
}

export interface HostAnswer {
  question: QuestionKind;
  match: string | null;
  verdict: string;
}

let queueCounter = 0;

export function verdictFor(question: Question, answers: readonly HostAnswer[]): Verdict {
  const subject =
    question.kind === 'rcpt'
      ? formatPath(question.recipient.forwardPath)
      : question.kind === 'mail'
        ? formatPath(question.reversePath)
        : question.kind === 'expn'
          ? question.argument
          : question.kind === 'auth'
            ? question.credentials.username
            : '';
  const standing = [...answers]
    .reverse()
    .find((a) => a.question === question.kind && (a.match === null || subject.includes(a.match)));
  const text = standing?.verdict ?? DEFAULT_ANSWERS[question.kind];
  const [word, ...restWords] = text.split(/\s+/);
  const rest = restWords.join(' ');
  switch (word) {
    case 'accept':
      if (question.kind === 'store')
        return accept(rest === '' ? `TESTQ${String(++queueCounter).padStart(4, '0')}` : rest);
      if (question.kind === 'expn' && rest !== '')
        return { kind: 'accept', lines: rest.split('|').map((s) => s.trim()) };
      return accept();
    case 'reject':
      return reject(parseReplySpec(rest));
    case 'defer':
      return defer(parseReplySpec(rest));
    case 'disconnect':
      return disconnect(parseReplySpec(rest));
    default:
      throw new Error(`unknown verdict ${text}`);
  }
}

const DEFAULT_ANSWERS: Record<QuestionKind, string> = {
  mail: 'accept',
  rcpt: 'accept',
  store: 'accept',
  auth: 'reject',
  expn: 'reject',
  turn: 'accept',
};

export function sessionOptions(steps: readonly Step[]): ServerOptions {
  const options: Record<string, unknown> = { hostname: 'mx.petrel.test' };
  const limits: Record<string, number> = {};
  for (const s of steps) {
    if (s.kind !== 'option') continue;
    if (s.key.startsWith('limits.')) limits[s.key.slice(7)] = Number(s.value);
    else options[s.key] = s.value === 'true' ? true : s.value === 'false' ? false : s.value;
  }
  return { ...(options as unknown as ServerOptions), limits };
}

/** What the server produced, one entry per reply line or action, in order. */
export type Produced =
  { kind: 'line'; text: string } | { kind: 'action'; action: string; body?: Buffer };

/**
 * Runs a transcript against the in-memory server machine. Throws with the
 * transcript's line number on the first difference.
 */
export function runTranscript(
  source: string,
  name = 'transcript',
  chunking: 'whole' | 'bytes' = 'whole',
): void {
  const steps = parseTranscript(source);
  const answers: HostAnswer[] = [];
  const session = new ServerSession(sessionOptions(steps));
  const produced: Produced[] = [];

  const consume = (outputs: ServerOutput[]): void => {
    const queue = [...outputs];
    while (queue.length > 0) {
      const o = queue.shift()!;
      switch (o.kind) {
        case 'reply':
          for (const l of o.text.split('\r\n'))
            if (l !== '') produced.push({ kind: 'line', text: l });
          break;
        case 'question':
          if (o.question.kind === 'store') {
            produced.push({
              kind: 'action',
              action: 'store',
              body: Buffer.concat([...o.question.body]),
            });
          }
          queue.push(...session.answer(verdictFor(o.question, answers)));
          break;
        default:
          produced.push({ kind: 'action', action: o.kind });
      }
    }
  };

  let pendingClient: Buffer[] = [];
  const flushClient = (): void => {
    if (pendingClient.length === 0) return;
    const bytes = Buffer.concat(pendingClient);
    pendingClient = [];
    if (chunking === 'whole') return consume(session.receive(bytes));
    // One octet per read: the machine's replies must not depend on how TCP cut the input.
    for (let i = 0; i < bytes.length; i++) consume(session.receive(bytes.subarray(i, i + 1)));
  };

  let lastBody: Buffer | undefined;
  consume(session.greet());
  for (const step of steps) {
    const where = `${name}:${step.line}`;
    if (step.kind !== 'client') flushClient();
    switch (step.kind) {
      case 'option':
        break;
      case 'host':
        answers.push({ question: step.question, match: step.match, verdict: step.verdict });
        break;
      case 'client':
        pendingClient.push(step.bytes);
        break;
      case 'server': {
        const next = produced.shift();
        if (next === undefined)
          throw new Error(`${where}: expected "${step.pattern}", the server said nothing more`);
        if (next.kind !== 'line')
          throw new Error(`${where}: expected "${step.pattern}", got action ${next.action}`);
        if (!matchReplyLine(step.pattern, next.text)) {
          throw new Error(`${where}: expected "${step.pattern}", got "${next.text}"`);
        }
        break;
      }
      case 'action': {
        const next = produced.shift();
        if (next === undefined || next.kind !== 'action' || next.action !== step.action) {
          throw new Error(`${where}: expected action ${step.action}, got ${JSON.stringify(next)}`);
        }
        if (next.body !== undefined) lastBody = next.body;
        break;
      }
      case 'body':
        if (lastBody === undefined || !lastBody.equals(step.bytes)) {
          throw new Error(
            `${where}: stored body ${JSON.stringify(lastBody?.toString('latin1'))} != ${JSON.stringify(step.bytes.toString('latin1'))}`,
          );
        }
        break;
      case 'event':
        if (step.event === 'tls-started') consume(session.tlsStarted());
        else if (step.event === 'timeout') consume(session.timeout());
        else if (step.event === 'drain') session.drain();
        else throw new Error(`${where}: unknown event ${step.event}`);
        break;
    }
  }
  flushClient();
  if (produced.length > 0) {
    throw new Error(
      `${name}: the server produced more than the transcript expects: ${JSON.stringify(produced[0])}`,
    );
  }
}
