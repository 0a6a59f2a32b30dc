// Transcript files: an SMTP dialog written as lines. One file runs against the
// server machine in memory (libs/smtp/test/support/transcript.ts) and against
// the running ingress over TCP (apps/ingress/test/transcripts-tcp.spec.ts);
// this module is what both share: the grammar, the parser and the reply
// matcher.
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
//
// Does not: run anything. Deliberately free of @petrel/smtp (which tests with
// it), so the kinds of host question are named here as plain strings.

/** The questions a server host answers; the same names as @petrel/smtp's QuestionKind. */
export const HOST_QUESTIONS = ['mail', 'rcpt', 'store', 'auth', 'expn', 'turn'] as const;
export type HostQuestion = (typeof HOST_QUESTIONS)[number];

export type Step =
  | { kind: 'option'; key: string; value: string; line: number }
  | { kind: 'host'; question: HostQuestion; match: string | null; verdict: string; line: number }
  | { kind: 'client'; bytes: Buffer; line: number }
  | { kind: 'server'; pattern: string; line: number }
  | { kind: 'action'; action: string; line: number }
  | { kind: 'body'; bytes: Buffer; line: number }
  | { kind: 'event'; event: string; line: number };

/** Bytes of a C! or A: body line: \r \n \0 \t \\ \xHH escapes, everything else as UTF-8. */
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
        const question = m[1]!;
        if (!(HOST_QUESTIONS as readonly string[]).includes(question))
          throw new Error(`line ${line}: unknown question ${JSON.stringify(question)}`);
        steps.push({
          kind: 'host',
          question: question as HostQuestion,
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
