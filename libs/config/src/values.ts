// The validators of single values, each with the message an operator reads:
// "expected <what>, got <what was written>" and sometimes "(<a hint>)".
// file-schema.ts composes them; zod supplies only mappings, lists and defaults.
//
// Every validator accepts any input (`z.unknown()`) and judges it itself, so a
// missing required key, a wrong type and a bad value get the same kind of
// message. Values are not coerced: "2525" is not a port (environment values
// are YAML, where 2525 is a number already).
//
// Does not: read files named by values (a TLS key is read by the service that
// uses it: every service loads the same file, and only ingress mounts its
// secrets), or check one key against another (cross-checks.ts).

import { isIP } from 'node:net';
import { DEFAULT_LIMITS, parsePath } from '@petrel/smtp';
import * as z from 'zod';
import { formatCidr, parseCidr } from './cidr.js';
import { parseDomainPattern, parseHostname } from './domain-name.js';
import { DURATION_HINT, formatDuration, parseDuration } from './duration.js';
import {
  CLUSTER_URL_FORM,
  isClusterUrl,
  isSentinelUrl,
  parseClusterUrl,
  parseSentinelUrl,
  SENTINEL_URL_FORM,
} from './redis-url.js';
import { parseTransport, type Transport } from './transport.js';

interface Failure {
  readonly ok: false;
  readonly expected: string;
  readonly hint?: string;
  /** How the input is shown, when it must not be shown as written. */
  readonly shown?: string;
}

type Judged<T> = { readonly ok: true; readonly value: T } | Failure;

/** A value as a message shows it. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  }
  return String(value);
}

/** The message of a value that failed; the missing ones say so first. */
export function expectedMessage(input: unknown, expected: string, hint?: string, shown?: string) {
  const tail = hint === undefined ? '' : ` (${hint})`;
  if (input === undefined) return `missing: expected ${expected}${tail}`;
  return `expected ${expected}, got ${shown ?? show(input)}${tail}`;
}

function judged<T>(judge: (input: unknown) => Judged<T>) {
  return z.unknown().transform((input, ctx): T => {
    const result = judge(input);
    if (result.ok) return result.value;
    const message = expectedMessage(input, result.expected, result.hint, result.shown);
    ctx.addIssue({ code: 'custom', message, input });
    return z.NEVER;
  });
}

const fail = (expected: string, hint?: string, shown?: string): Failure => ({
  ok: false,
  expected,
  hint,
  shown,
});

export function integer(range: { min: number; max?: number; why?: string }) {
  const { min, max = Number.MAX_SAFE_INTEGER, why } = range;
  const expected =
    max === Number.MAX_SAFE_INTEGER
      ? `an integer of at least ${min}`
      : `an integer from ${min} to ${max}`;
  return judged<number>((input) =>
    typeof input === 'number' && Number.isSafeInteger(input) && input >= min && input <= max
      ? { ok: true, value: input }
      : fail(expected, why),
  );
}

export function boolean() {
  return judged<boolean>((input) =>
    typeof input === 'boolean' ? { ok: true, value: input } : fail('true or false'),
  );
}

export function oneOf<const T extends readonly string[]>(values: T) {
  const expected = `one of ${values.join(', ')}`;
  return judged<T[number]>((input) =>
    typeof input === 'string' && values.includes(input)
      ? { ok: true, value: input as T[number] }
      : fail(expected),
  );
}

export function text(expected = 'a non-empty string') {
  return judged<string>((input) =>
    typeof input === 'string' && input.length > 0 ? { ok: true, value: input } : fail(expected),
  );
}

/** The longest delay a Node.js timer keeps (2^31 - 1 ms); longer ones fire at once. */
export const TIMER_MAX_MS = 2_147_483_647;

/**
 * A duration in milliseconds (duration.ts). `timer` caps it at what
 * setTimeout can wait; `min` keeps out values that would mean "never" or
 * "at once" where that makes no sense.
 */
export function duration(range: { min: number; timer: boolean }) {
  const max = range.timer ? TIMER_MAX_MS : Number.MAX_SAFE_INTEGER;
  return judged<number>((input) => {
    if (typeof input !== 'string' && typeof input !== 'number') return fail(DURATION_HINT);
    let ms: number;
    try {
      ms = parseDuration(input);
    } catch (error) {
      return fail((error as Error).message.replace(/^expected (.*), got .*$/s, '$1'));
    }
    const bare = typeof input === 'number' || /^\s*[\d.]+\s*$/.test(input);
    if (ms < range.min) {
      const why = bare ? 'a bare number is milliseconds' : undefined;
      return fail(`a duration of at least ${formatDuration(range.min)}`, why);
    }
    if (ms > max) {
      return fail(`a duration of at most ${formatDuration(max)}`, 'the longest a timer can wait');
    }
    return { ok: true, value: ms };
  });
}

/**
 * A network in CIDR notation, normalised ("192.0.2.7" → "192.0.2.7/32").
 * A network of every address (/0) is refused: trusting it is an open relay.
 */
export function network() {
  return judged<string>((input) => {
    if (typeof input !== 'string') return fail('a network such as 10.0.0.0/8 or 2001:db8::/32');
    const result = parseCidr(input.trim());
    if (!result.ok) return fail(result.expected, result.hint);
    if (result.cidr.prefix === 0) {
      return fail('a network narrower than every address', 'that would make an open relay');
    }
    return { ok: true, value: formatCidr(result.cidr) };
  });
}

export function hostname() {
  return judged<string>((input) => {
    if (typeof input !== 'string') return fail('a host name such as relay.example.net');
    const result = parseHostname(input);
    return result.ok ? result : fail(result.expected);
  });
}

export function domainPattern(options: { wildcard: boolean }) {
  return judged<string>((input) => {
    const result = parseDomainPattern(typeof input === 'string' ? input : '', options);
    if (!result.ok) {
      const hint = input === '*' ? 'relaying for every domain is an open relay' : undefined;
      return fail(result.expected, hint);
    }
    return result;
  });
}

/** Where a server listens: an IP address or a host name ("0.0.0.0", "::", "localhost"). */
export function listenHost() {
  const expected = 'an address to listen on such as 0.0.0.0, :: or 127.0.0.1';
  return judged<string>((input) => {
    if (typeof input !== 'string') return fail(expected);
    if (isIP(input) !== 0) return { ok: true, value: input };
    const name = parseHostname(input);
    return name.ok ? { ok: true, value: input } : fail(expected);
  });
}

/** A resolver as node:dns takes it: "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53". */
export function dnsServer() {
  const expected = 'an IP address, optionally with a port (192.0.2.53:53, [2001:db8::53]:53)';
  return judged<string>((input) => {
    if (typeof input !== 'string') return fail(expected);
    if (isIP(input) !== 0) return { ok: true, value: input };
    const match = /^(?:\[([^\]]+)\]|([\d.]+)):(\d{1,5})$/.exec(input);
    const address = match?.[1] ?? match?.[2] ?? '';
    const port = Number(match?.[3]);
    const family = isIP(address);
    const bracketsFit = (match?.[1] !== undefined) === (family === 6);
    return family !== 0 && bracketsFit && port >= 1 && port <= 65535
      ? { ok: true, value: input }
      : fail(expected);
  });
}

/**
 * The Redis URL, or null for the Redis `npm start` runs itself. A password in
 * it never appears in a message.
 */
export function redisUrl() {
  const expected =
    'a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL, or null for the Redis that npm start runs';
  return judged<string | null>((input) => {
    if (input === null) return { ok: true, value: null };
    if (typeof input !== 'string') return fail(expected);
    const shown = show(input.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@'));
    if (isSentinelUrl(input)) {
      const target = parseSentinelUrl(input);
      return 'problem' in target
        ? fail(SENTINEL_URL_FORM, target.problem, shown)
        : { ok: true, value: input };
    }
    if (isClusterUrl(input)) {
      const target = parseClusterUrl(input);
      return 'problem' in target
        ? fail(CLUSTER_URL_FORM, target.problem, shown)
        : { ok: true, value: input };
    }
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      return fail(expected, undefined, shown);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      return fail(expected, undefined, shown);
    }
    return { ok: true, value: input };
  });
}

/** A list whose own problems (not its elements') have the house wording. */
export function list<T extends z.ZodType>(element: T, options: { nonEmpty?: boolean } = {}) {
  return z
    .array(element, { error: (issue) => expectedMessage(issue.input, 'a list') })
    .min(options.nonEmpty === true ? 1 : 0, {
      error: () => 'expected a list of at least one entry, got an empty list',
    });
}

/** A transport map value (transport.ts): a string or { nexthop, tls, auth }. */
export function transport() {
  return judged<Transport>((input) => {
    const result = parseTransport(input);
    return result.ok ? result : fail(result.expected);
  });
}

/**
 * A mailbox as RCPT TO takes it, without angle brackets (UTF-8 allowed), as
 * written: a local part's case may matter to its destination (RFC 5321 §2.4).
 */
export function mailAddress() {
  const expected = 'an address such as staff@example.com';
  return judged<string>((input) => {
    if (typeof input !== 'string' || input.startsWith('<')) return fail(expected);
    const parsed = parsePath(`<${input}>`, {
      kind: 'forward',
      utf8Allowed: true,
      limits: DEFAULT_LIMITS,
    });
    if (!parsed.ok || parsed.rest !== '' || parsed.path.mailbox?.domain == null) {
      return fail(expected);
    }
    if (parsed.path.route.length > 0) return fail(expected, 'no source route');
    return { ok: true, value: input };
  });
}

/** A gRPC server as "host:port": an IP address ([…] for IPv6) or a host name. */
export function serviceAddress() {
  const expected = 'host:port, such as petrel-routing:50051 or 127.0.0.1:50051';
  return judged<string>((input) => {
    if (typeof input !== 'string') return fail(expected);
    const match = /^(?:\[([^\]]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(input);
    const host = match?.[1] ?? match?.[2] ?? '';
    const port = Number(match?.[3]);
    const hostOk =
      match?.[1] !== undefined ? isIP(host) === 6 : isIP(host) === 4 || parseHostname(host).ok;
    return match !== null && hostOk && port >= 1 && port <= 65535
      ? { ok: true, value: input }
      : fail(expected);
  });
}
