import * as crypto from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { hashPassword, loadUsersFile, parseUsersFile, usernameProblem } from './users-file.js';

// scrypt stays real; the spy only records who asked for it and with what cost.
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, scrypt: vi.fn(real.scrypt) };
});
const scryptSpy = vi.mocked(crypto.scrypt);

// Cheap parameters keep the suite fast; the defaults are checked once.
const FAST = { ln: 4, r: 8, p: 1 };

// RFC 7914 §12, the third test vector: scrypt("pleaseletmein", "SodiumChloride", N=16384, r=8, p=1, 64).
const RFC7914_KEY = Buffer.from(
  '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2' +
    'd5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887',
  'hex',
);
const RFC7914_LINE = `vector:$scrypt$ln=14,r=8,p=1$${Buffer.from('SodiumChloride').toString('base64')}$${RFC7914_KEY.toString('base64')}`;

beforeEach(() => {
  scryptSpy.mockClear();
});

describe('hashPassword', () => {
  it('writes $scrypt$ln=15,r=8,p=1$salt$hash with a 16-octet salt and a 32-octet key', async () => {
    const hash = await hashPassword('correct horse');
    const m = /^\$scrypt\$ln=15,r=8,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(hash);
    expect(m).not.toBeNull();
    expect(Buffer.from(m![1]!, 'base64')).toHaveLength(16);
    expect(Buffer.from(m![2]!, 'base64')).toHaveLength(32);
    const users = parseUsersFile(`alice:${hash}\n`);
    expect(await users.verify('alice', 'correct horse')).toBe(true);
  });

  it('salts every hash afresh', async () => {
    expect(await hashPassword('x', FAST)).not.toBe(await hashPassword('x', FAST));
  });

  it('honours the cost options', async () => {
    expect(await hashPassword('x', { ln: 5, r: 4, p: 2 })).toMatch(/^\$scrypt\$ln=5,r=4,p=2\$/);
  });

  it.each([{ ln: 0 }, { ln: 25 }, { r: 0 }, { p: 17 }, { ln: 1.5 }, { ln: 24, r: 64 }])(
    'refuses %j',
    async (options) => {
      await expect(hashPassword('x', options)).rejects.toThrow(RangeError);
    },
  );
});

describe('parseUsersFile and verify', () => {
  it('accepts the right password and nothing else', async () => {
    const text = [
      `alice:${await hashPassword('wonderland', FAST)}`,
      `bob:${await hashPassword('', FAST)}`,
      `Carol Ann:${await hashPassword('pässwörd ✓', FAST)}`,
    ].join('\n');
    const users = parseUsersFile(text);
    expect(users.size).toBe(3);
    // [username, password, accepted]
    const cases: [string, string, boolean][] = [
      ['alice', 'wonderland', true],
      ['alice', 'Wonderland', false],
      ['alice', 'wonderland ', false],
      ['alice', '', false],
      ['Alice', 'wonderland', false],
      ['alice ', 'wonderland', false],
      ['bob', '', true],
      ['bob', 'x', false],
      ['Carol Ann', 'pässwörd ✓', true],
      ['Carol Ann', 'pässwörd ✓'.normalize('NFD'), false],
      ['mallory', 'wonderland', false],
      ['', '', false],
    ];
    for (const [username, password, accepted] of cases) {
      expect(await users.verify(username, password), `${username}/${password}`).toBe(accepted);
    }
  });

  it('reads the RFC 7914 test vector written as a users-file line', async () => {
    const users = parseUsersFile(RFC7914_LINE);
    expect(await users.verify('vector', 'pleaseletmein')).toBe(true);
    expect(await users.verify('vector', 'pleaseletmeout')).toBe(false);
  });

  it('an unknown user costs one scrypt with the first user’s parameters', async () => {
    const users = parseUsersFile(
      `alice:${await hashPassword('a', { ln: 6, r: 2, p: 1 })}\nbob:${await hashPassword('b', FAST)}`,
    );
    scryptSpy.mockClear();
    expect(await users.verify('mallory', 'a')).toBe(false);
    expect(scryptSpy).toHaveBeenCalledTimes(1);
    expect(scryptSpy.mock.calls[0]![3]).toMatchObject({ N: 64, r: 2, p: 1 });
    scryptSpy.mockClear();
    expect(await users.verify('alice', 'a')).toBe(true);
    expect(scryptSpy).toHaveBeenCalledTimes(1);
  });

  it('an empty file accepts nobody, still at the cost of one scrypt', async () => {
    const users = parseUsersFile('# nobody yet\n');
    expect(users.size).toBe(0);
    expect(await users.verify('alice', 'x')).toBe(false);
    expect(scryptSpy).toHaveBeenCalledTimes(1);
    expect(scryptSpy.mock.calls[0]![3]).toMatchObject({ N: 32768, r: 8, p: 1 });
  });

  it('ignores comments, blank lines, CRLF line ends and a byte-order mark', async () => {
    const hash = await hashPassword('pw', FAST);
    const text = `\uFEFF# users\r\n\r\n   \r\n  # indented comment\r\nalice:${hash}\r\n\n`;
    const users = parseUsersFile(text);
    expect(users.size).toBe(1);
    expect(await users.verify('alice', 'pw')).toBe(true);
  });

  it('accepts padded and unpadded base64', async () => {
    const m = /^(.*)\$(.*)\$(.*)$/.exec(await hashPassword('pw', FAST))!;
    const padded = `${m[1]}$${m[2]}==$${m[3]}=`;
    const users = parseUsersFile(`alice:${padded}`);
    expect(await users.verify('alice', 'pw')).toBe(true);
  });
});

describe('parseUsersFile refuses a malformed line, naming it without echoing the hash', () => {
  const salt = Buffer.alloc(16, 1).toString('base64');
  const key = Buffer.alloc(32, 2).toString('base64');
  const good = `$scrypt$ln=4,r=8,p=1$${salt}$${key}`;
  // [line, what the error says]
  it.each([
    ['alice', /expected username:/],
    [`:${good}`, /username is empty/],
    [` alice:${good}`, /white space/],
    [`alice :${good}`, /white space/],
    [`al\u0007ice:${good}`, /control character/],
    [`alice:${good} `, /not of the form/],
    [`alice:${good.replace('$scrypt$', '$argon2id$')}`, /not of the form/],
    [`alice:${good.replace('ln=4', 'ln=0')}`, /ln must be/],
    [`alice:${good.replace('ln=4', 'ln=25')}`, /ln must be/],
    [`alice:${good.replace('ln=4', 'ln=-4')}`, /not of the form/],
    [`alice:${good.replace('ln=4,r=8', 'r=8,ln=4')}`, /not of the form/],
    [`alice:${good.replace('r=8', 'r=0')}`, /r must be/],
    [`alice:${good.replace('p=1', 'p=17')}`, /p must be/],
    [`alice:${good.replace('ln=4,r=8', 'ln=24,r=64')}`, /1 GiB/],
    [`alice:$scrypt$ln=4,r=8,p=1$${salt}`, /not of the form/],
    [`alice:$scrypt$ln=4,r=8,p=1$${salt}$${key}$extra`, /not of the form/],
    [`alice:$scrypt$ln=4,r=8,p=1$${salt.slice(0, -1)}!$${key}`, /not of the form/],
    [`alice:$scrypt$ln=4,r=8,p=1$A$${key}`, /base64/],
    [`alice:$scrypt$ln=4,r=8,p=1$${salt}$${key}=`, /base64/],
    [`alice:$scrypt$ln=4,r=8,p=1$QUJD$${key}`, /salt is shorter/],
    [`alice:$scrypt$ln=4,r=8,p=1$${salt}$${Buffer.alloc(8).toString('base64')}`, /16 to 64 octets/],
    [
      `alice:$scrypt$ln=4,r=8,p=1$${salt}$${Buffer.alloc(65).toString('base64')}`,
      /16 to 64 octets/,
    ],
  ])('%j', (line, message) => {
    const text = `# users\n\nbob:${good}\n${line}\n`;
    let error: Error | undefined;
    try {
      parseUsersFile(text, '/etc/petrel/users');
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).toMatch(/^\/etc\/petrel\/users line 4: /);
    expect(error?.message).not.toContain(key.slice(0, 12));
    expect(error?.message).not.toContain(salt.slice(0, 12));
  });

  it('refuses a username listed twice', () => {
    expect(() => parseUsersFile(`alice:${good}\nalice:${good}`)).toThrow(
      /users file line 2: the username appears twice/,
    );
  });
});

describe('loadUsersFile', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('reads the file and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'petrel-users-'));
    dirs.push(dir);
    const path = join(dir, 'users');
    await writeFile(path, `alice:${await hashPassword('pw', FAST)}\n`);
    const users = await loadUsersFile(path);
    expect(await users.verify('alice', 'pw')).toBe(true);
    await writeFile(path, 'alice:nope\n');
    await expect(loadUsersFile(path)).rejects.toThrow(`${path} line 1:`);
    await expect(loadUsersFile(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });
});

describe('usernameProblem', () => {
  it.each([
    ['alice', null],
    ['alice@example.test', null],
    ['Carol Ann', null],
    ['üser', null],
    ['', /empty/],
    ['a:b', /colon/],
    ['a\tb', /control/],
    ['a\u0085b', /control/],
    [' a', /white space/],
    ['a\u00a0', /white space/],
    ['a\ud800', /Unicode/],
  ])('%j', (name, problem) => {
    if (problem === null) expect(usernameProblem(name)).toBeNull();
    else expect(usernameProblem(name)).toMatch(problem);
  });
});
