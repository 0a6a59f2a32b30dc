// The SMTP AUTH credentials: a users file of scrypt password hashes, one
// "username:$scrypt$ln=15,r=8,p=1$<salt>$<hash>" per line, and the check of a
// username and password against it.
//
// The hash is a PHC-style string: ln is log2 of scrypt's cost N, r the block
// size, p the parallelism; salt and derived key in standard base64 (padding
// optional). '#' comment lines and blank lines are ignored; CRLF line ends and
// a byte-order mark are accepted. A malformed line throws an Error naming the
// source and line number and what is wrong, never echoing the hash.
//
// verify runs scrypt off the event loop (libuv's thread pool) and compares in
// constant time; an unknown username costs one scrypt against a dummy entry
// with the first user's parameters, so timing does not tell which usernames
// exist. Usernames compare exactly and passwords as their UTF-8 octets (no
// case folding, no Unicode normalisation, no SASLprep).
//
// Does not: count or limit failed attempts (the session does), watch the file
// for changes, accept other schemes (bcrypt, argon2, crypt(3)), or log.
//
// RFC 7914 (scrypt), RFC 4954 (SMTP AUTH), the PHC string format.

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export interface UsersFile {
  readonly size: number;
  verify(username: string, password: string): Promise<boolean>;
}

export interface HashOptions {
  /** log2 of the scrypt cost N; 15 (N = 32768, 32 MiB with r = 8) by default. */
  ln?: number;
  r?: number;
  p?: number;
}

/** The defaults hashPassword uses: about 32 MiB and 50-100 ms per check. */
export const DEFAULT_HASH_OPTIONS: Readonly<Required<HashOptions>> = Object.freeze({
  ln: 15,
  r: 8,
  p: 1,
});

/** Bounds on what a users file may ask for, so that a typo cannot exhaust memory. */
const LIMITS = { ln: [1, 24], r: [1, 64], p: [1, 16], memory: 1024 * 1024 * 1024 } as const;
const SALT_OCTETS = 16;
const KEY_OCTETS = 32;

export function parseUsersFile(text: string, source = 'users file'): UsersFile {
  const users = new Map<string, Entry>();
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!.replace(/\r$/, '');
    if (/^\s*(#|$)/.test(line)) continue;
    const where = `${source} line ${k + 1}`;
    const colon = line.indexOf(':');
    if (colon < 0) throw new Error(`${where}: expected username:$scrypt$ln=…,r=…,p=…$salt$hash`);
    const username = line.slice(0, colon);
    const problem = usernameProblem(username);
    if (problem !== null) throw new Error(`${where}: ${problem}`);
    if (users.has(username)) throw new Error(`${where}: the username appears twice`);
    const entry = parseHash(line.slice(colon + 1));
    if (typeof entry === 'string') throw new Error(`${where}: ${entry}`);
    users.set(username, entry);
  }
  return new ScryptUsers(users);
}

export async function loadUsersFile(path: string): Promise<UsersFile> {
  return parseUsersFile(await readFile(path, 'utf8'), path);
}

/** A hash for the users file ("$scrypt$ln=15,r=8,p=1$salt$hash"), with a random 16-octet salt. */
export async function hashPassword(password: string, options: HashOptions = {}): Promise<string> {
  const params = { ...DEFAULT_HASH_OPTIONS, ...options };
  const problem = paramsProblem(params.ln, params.r, params.p);
  if (problem !== null) throw new RangeError(problem);
  const salt = randomBytes(SALT_OCTETS);
  const key = await derive(password, salt, params, KEY_OCTETS);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

/** Why `username` cannot be a users-file name, or null when it can. */
export function usernameProblem(username: string): string | null {
  if (username.length === 0) return 'the username is empty';
  if (username.includes(':')) return 'the username holds a colon';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(username))
    return 'the username holds a control character';
  if (username.trim() !== username) return 'the username begins or ends with white space';
  if (!username.isWellFormed()) return 'the username is not valid Unicode';
  return null;
}

interface Entry {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

class ScryptUsers implements UsersFile {
  private readonly dummy: Entry;

  constructor(private readonly users: ReadonlyMap<string, Entry>) {
    // An unknown user costs what the first known one does.
    const first = users.values().next();
    const p = first.done ? DEFAULT_HASH_OPTIONS : first.value;
    this.dummy = {
      ln: p.ln,
      r: p.r,
      p: p.p,
      salt: randomBytes(SALT_OCTETS),
      key: randomBytes(first.done ? KEY_OCTETS : first.value.key.length),
    };
  }

  get size(): number {
    return this.users.size;
  }

  async verify(username: string, password: string): Promise<boolean> {
    const known = this.users.get(username);
    const entry = known ?? this.dummy;
    const key = await derive(password, entry.salt, entry, entry.key.length);
    const equal = timingSafeEqual(key, entry.key);
    return equal && known !== undefined;
  }
}

function derive(
  password: string,
  salt: Buffer,
  params: { ln: number; r: number; p: number },
  length: number,
): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = {
    N,
    r: params.r,
    p: params.p,
    // OpenSSL needs 128·r·(N + p + 2) octets; Node's default cap (32 MiB) is too small for ln=15, r=8.
    maxmem: 128 * params.r * (N + params.p + 2) + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const HASH =
  /^\$scrypt\$ln=([0-9]{1,2}),r=([0-9]{1,2}),p=([0-9]{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** "$scrypt$ln=…,r=…,p=…$salt$hash" as an Entry, or what is wrong with it (never the hash itself). */
function parseHash(text: string): Entry | string {
  const m = HASH.exec(text);
  if (m === null) return 'the hash is not of the form $scrypt$ln=…,r=…,p=…$salt$hash';
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const problem = paramsProblem(ln, r, p);
  if (problem !== null) return problem;
  const salt = unb64(m[4]!);
  const key = unb64(m[5]!);
  if (salt === null || key === null) return 'the salt or the hash is not valid base64';
  if (salt.length < 8) return 'the salt is shorter than 8 octets';
  if (key.length < 16 || key.length > 64) return 'the hash is not 16 to 64 octets long';
  return { ln, r, p, salt, key };
}

function paramsProblem(ln: number, r: number, p: number): string | null {
  const within = (v: number, [lo, hi]: readonly [number, number]) =>
    Number.isInteger(v) && v >= lo && v <= hi;
  if (!within(ln, LIMITS.ln)) return `ln must be ${LIMITS.ln[0]} to ${LIMITS.ln[1]}`;
  if (!within(r, LIMITS.r)) return `r must be ${LIMITS.r[0]} to ${LIMITS.r[1]}`;
  if (!within(p, LIMITS.p)) return `p must be ${LIMITS.p[0]} to ${LIMITS.p[1]}`;
  if (128 * r * 2 ** ln > LIMITS.memory) return 'the scrypt parameters need more than 1 GiB';
  return null;
}

/** Standard base64 without padding, as PHC strings write it. */
function b64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** Canonical standard base64, padded or not: its octets, or null. */
function unb64(text: string): Buffer | null {
  const bare = text.replace(/=+$/, '');
  if (bare.length % 4 === 1) return null;
  if (text.length !== bare.length && text.length % 4 !== 0) return null;
  const bytes = Buffer.from(bare, 'base64');
  return b64(bytes) === bare ? bytes : null;
}
