// The operator's tool for the users file: reads a password (the first line of
// standard input) and prints "username:$scrypt$…" for the username given as
// the only argument, ready to append to the file.
//
//   printf '%s\n' 'secret' | node dist/policy/hash-password-cli.js alice >> users
//
// Does not: turn terminal echo off, edit the users file, or take the password
// as an argument (it would show in the process list and shell history).

import { hashPassword, usernameProblem } from './users-file.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const USAGE = 'usage: hash-password-cli <username>   (the password is read from standard input)\n';
/** A password line longer than this is refused rather than buffered without end. */
const MAX_LINE = 64 * 1024;

export async function runHashPassword(
  args: readonly string[],
  input: AsyncIterable<Buffer | string>,
): Promise<CliResult> {
  if (args.length !== 1 || args[0] === '-h' || args[0] === '--help') {
    return { code: 2, stdout: '', stderr: USAGE };
  }
  const username = args[0]!;
  const problem = usernameProblem(username);
  if (problem !== null) return { code: 2, stdout: '', stderr: `hash-password-cli: ${problem}\n` };

  const line = await firstLine(input);
  if (line === null) {
    return {
      code: 1,
      stdout: '',
      stderr: `hash-password-cli: the password line is over ${MAX_LINE} octets\n`,
    };
  }
  if (line.length === 0)
    return { code: 1, stdout: '', stderr: 'hash-password-cli: the password is empty\n' };
  const hash = await hashPassword(line);
  return { code: 0, stdout: `${username}:${hash}\n`, stderr: '' };
}

/** The input up to its first LF (a CR before it dropped) or its end; null when too long. */
async function firstLine(input: AsyncIterable<Buffer | string>): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const lf = bytes.indexOf(0x0a);
    chunks.push(lf < 0 ? bytes : bytes.subarray(0, lf));
    size += lf < 0 ? bytes.length : lf;
    if (size > MAX_LINE) return null;
    if (lf >= 0) break;
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
}

if (import.meta.main) {
  const result = await runHashPassword(process.argv.slice(2), process.stdin);
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.code;
}
