// Transcript files: an SMTP dialog written as lines, run against the server
// machine in memory (and, by ingress, against the running server over a socket).
//
//   # comment                    ignored; so are blank lines
//   O: key=value                 a session option (hostname, starttls, tlsActive, auth, smtputf8,
//                                expn, turn) or limits.<name>=<n>
//   H: kind -> verdict [reply]   the host's standing answer to one kind of question
//                                (mail, rcpt, store, auth, expn, turn): accept [queue id | lines...],
//                                reject, defer, disconnect, each optionally with "code enhanced text";
//   H: kind ~text -> verdict     the same, only for questions whose path/argument contains text
//   C: line                      a client line; CRLF is added. Consecutive C/C! lines form one
//                                pipelined write. {a..b} repeats the line (and the S: block after it)
//   C! bytes                     raw bytes with escapes \r \n \0 \t \\ \xHH, nothing added
//   S: reply line                the next reply line: "250 *" (* matches the rest), "250-*",
//                                "4yz *" or "5yz *" for a class, exact text otherwise
//   A: action                    the next action: close, start-tls, turn, store
//   A: body <escaped bytes>      the body of the last store question, exactly
//   X: event                     a host event: tls-started, timeout, drain

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

export type Step =
  | { kind: 'option'; key: string; value: string; line: number }
  | { kind: 'host'; question: QuestionKind; match: string | null; verdict: string; line: number }
  | { kind: 'client'; bytes: Buffer; line: number }
  | { kind: 'server'; pattern: string; line: number }
  | { kind: 'action'; action: string; line: number }
  | { kind: 'body'; bytes: Buffer; line: number }
  | { kind: 'event'; event: string; line: number };

export function unescapeBytes(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\') {
      for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
      continue;
    }
    const next = text[++i];
    switch (next) {
      case 'r':
        bytes.push(13);
        break;
      case 'n':
        bytes.push(10);
        break;
      case '0':
        bytes.push(0);
        break;
      case 't':
        bytes.push(9);
        break;
      case '\\':
        bytes.push(92);
        break;
      case 'x':
        bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
        break;
      default:
        throw new Error(`bad escape \\${next ?? ''} in ${text}`);
    }
  }
  return Buffer.from(bytes);
}

/** Parses a transcript, expanding {a..b} repetitions. */
export function parseTranscript(source: string): Step[] {
  const raw = source.split('\n');
  const steps: Step[] = [];
  for (let i = 0; i < raw.length; i++) {
    const text = raw[i]!.replace(/\r$/, '');
    const line = i + 1;
    if (text.trim() === '' || text.startsWith('#')) continue;
    const tag = text.slice(0, 2);
    const rest = text.slice(3);
    const range = /\{(\d+)\.\.(\d+)\}/.exec(rest);
    if ((tag === 'C:' || tag === 'C!') && range) {
      // Repeat this line and the block of S:/A: lines after it.
      const block: string[] = [];
      let j = i + 1;
      while (j < raw.length && /^(S:|A:)/.test(raw[j]!)) block.push(raw[j++]!);
      for (let n = Number(range[1]); n <= Number(range[2]); n++) {
        steps.push(
          ...parseTranscript([text.replace(range[0], String(n)), ...block].join('\n')).map((s) => ({
            ...s,
            line,
          })),
        );
      }
      i = j - 1;
      continue;
    }
    switch (tag) {
      case 'O:': {
        const eq = rest.indexOf('=');
        steps.push({
          kind: 'option',
          key: rest.slice(0, eq).trim(),
          value: rest.slice(eq + 1).trim(),
          line,
        });
        break;
      }
      case 'H:': {
        const m = /^(\w+)(?:\s+~(\S+))?\s*->\s*(.+)$/.exec(rest);
        if (!m) throw new Error(`line ${line}: bad H: line`);
        steps.push({
          kind: 'host',
          question: m[1] as QuestionKind,
          match: m[2] ?? null,
          verdict: m[3]!,
          line,
        });
        break;
      }
      case 'C:':
        steps.push({ kind: 'client', bytes: Buffer.from(`${rest}\r\n`, 'utf8'), line });
        break;
      case 'C!':
        steps.push({ kind: 'client', bytes: unescapeBytes(rest), line });
        break;
      case 'S:':
        steps.push({ kind: 'server', pattern: rest, line });
        break;
      case 'A:':
        if (rest.startsWith('body '))
          steps.push({ kind: 'body', bytes: unescapeBytes(rest.slice(5)), line });
        else steps.push({ kind: 'action', action: rest.trim(), line });
        break;
      case 'X:':
        steps.push({ kind: 'event', event: rest.trim(), line });
        break;
      default:
        throw new Error(`line ${line}: unknown tag ${JSON.stringify(tag)}`);
    }
  }
  return steps;
}

/** Does one reply line match an S: pattern? */
export function matchReplyLine(pattern: string, actual: string): boolean {
  const classed = /^([2345])yz([ -])(.*)$/.exec(pattern);
  if (classed) {
    if (actual[0] !== classed[1] || actual[3] !== classed[2]) return false;
    return matchText(classed[3]!, actual.slice(4));
  }
  return matchText(pattern, actual);
}

function matchText(pattern: string, actual: string): boolean {
  if (pattern.endsWith('*')) return actual.startsWith(pattern.slice(0, -1));
  return pattern === actual;
}

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
