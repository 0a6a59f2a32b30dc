import { describe, expect, it } from 'vitest';
import { runHashPassword } from './hash-password-cli.js';
import { parseUsersFile } from './users-file.js';

async function* chunks(...parts: (string | Buffer)[]): AsyncGenerator<Buffer | string> {
  for (const p of parts) yield p;
}

describe('hash-password-cli', () => {
  // [input chunks, the password the printed line accepts]
  it.each([
    [['secret\n'], 'secret'],
    [['secret\r\n'], 'secret'],
    [['secret'], 'secret'],
    [['sec', 'ret\nignored second line\n'], 'secret'],
    [[Buffer.from('pä'), Buffer.from('ss wörd\n')], 'päss wörd'],
    [[' spaces kept \n'], ' spaces kept '],
  ])('%j', async (input, password) => {
    const r = await runHashPassword(['alice'], chunks(...input));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^alice:\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+\n$/);
    const users = parseUsersFile(r.stdout);
    expect(await users.verify('alice', password)).toBe(true);
    expect(await users.verify('alice', `${password}x`)).toBe(false);
  });

  // [arguments, input, exit code, what stderr says]
  it.each([
    [[], 'pw\n', 2, /usage/],
    [['alice', 'bob'], 'pw\n', 2, /usage/],
    [['--help'], 'pw\n', 2, /usage/],
    [['a:b'], 'pw\n', 2, /colon/],
    [[''], 'pw\n', 2, /empty/],
    [['alice'], '\n', 1, /password is empty/],
    [['alice'], '', 1, /password is empty/],
    [['alice'], 'x'.repeat(70_000), 1, /over 65536 octets/],
  ])('%j with %j: exit %d', async (args, input, code, message) => {
    const r = await runHashPassword(args, chunks(input));
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});
