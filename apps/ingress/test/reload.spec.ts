// The users file and the TLS certificate are reloaded while ingress runs: a
// replaced file takes effect for the next session; a file that does not load
// keeps the previous one in force and says so in the log (create-ingress.ts).
// Files are replaced as editors and Kubernetes Secret volumes do it: a new file
// renamed over the old one.
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { createLogger } from '@petrel/observability';
import { startRedis, type RedisHandle } from '@petrel/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Ingress } from '../src/create-ingress.js';
import {
  eventually,
  ingressConfig,
  makeCertificate,
  startIngress,
  usersFileText,
} from './support/ingress-harness.js';
import { RawSmtp } from './support/raw-smtp.js';

let redis: RedisHandle;
let dir: string;
const started: Ingress[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  for (const i of started.splice(0)) await i.stop().catch(() => undefined);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** A logger whose JSON lines the test reads. */
function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: () => unknown[] } {
  const lines: unknown[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return {
    logger: createLogger({ service: 'ingress-test', level: 'info', destination }),
    lines: () => lines,
  };
}

/** Writes the file beside its final name, then renames it over: an atomic replace. */
function replace(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

/** The reply to AUTH PLAIN with these credentials, on a new session. */
async function auth(port: number, user: string, password: string): Promise<string> {
  const smtp = await RawSmtp.open(port);
  try {
    await smtp.reply();
    await smtp.command('EHLO client.test');
    const token = Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64');
    return await smtp.command(`AUTH PLAIN ${token}`);
  } finally {
    smtp.close();
  }
}

interface LogLine {
  level: string;
  msg: string;
  users?: number;
  err?: string;
}

function messages(lines: unknown[]): LogLine[] {
  return lines as LogLine[];
}

describe('the users file, reloaded while ingress runs', () => {
  it('accepts a user added by replacing the file; a malformed file keeps the old users and logs an error', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-reload-'));
    const usersFile = join(dir, 'users');
    writeFileSync(usersFile, await usersFileText({ alice: 'secret' }));
    const log = capturedLogger();
    const c = ingressConfig(redis.url, (x) => {
      x.ingress.auth = { usersFile };
      x.ingress.listeners[0]!.allowPlaintextAuth = true;
    });
    const { ingress, port } = await startIngress(c, { logger: log.logger });
    started.push(ingress);
    const loaded = () => messages(log.lines()).filter((l) => l.msg === 'users file loaded');
    expect(loaded().map((l) => l.users)).toEqual([1]);

    expect(await auth(port, 'alice', 'secret')).toBe('235 2.7.0 Authentication successful');
    expect(await auth(port, 'bob', 'hunter2')).toBe('535 5.7.8 Authentication credentials invalid');

    replace(usersFile, await usersFileText({ alice: 'secret', bob: 'hunter2' }));
    await eventually(() => loaded().some((l) => l.users === 2), 'the new users file loaded');
    expect(await auth(port, 'bob', 'hunter2')).toBe('235 2.7.0 Authentication successful');
    expect(await auth(port, 'alice', 'secret')).toBe('235 2.7.0 Authentication successful');

    replace(usersFile, 'carol has no colon\n');
    const failed = await eventually(
      () =>
        messages(log.lines()).find(
          (l) => l.msg === 'users file reload failed; the previous one stays in force',
        ),
      'the reload failure logged',
    );
    expect(failed.err).toMatch(/line 1: expected username:\$scrypt\$/);
    expect(failed.level).toBe('error');
    expect(await auth(port, 'bob', 'hunter2')).toBe('235 2.7.0 Authentication successful');

    // The watch goes on after a failed reload and after renames.
    replace(usersFile, await usersFileText({ carol: 'pw' }));
    await eventually(
      () => loaded().some((l) => l.users === 1 && loaded().length === 3),
      'the third users file loaded',
    );
    expect(await auth(port, 'carol', 'pw')).toBe('235 2.7.0 Authentication successful');
    expect(await auth(port, 'bob', 'hunter2')).toBe('535 5.7.8 Authentication credentials invalid');
  });

  it('follows a Kubernetes Secret volume update (the ..data link swapped to a new folder)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-reload-k8s-'));
    // What the kubelet's atomic writer lays out: users -> ..data/users, ..data -> ..v1.
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'users'), await usersFileText({ alice: 'secret' }));
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'users'), join(dir, 'users'));
    const log = capturedLogger();
    const c = ingressConfig(redis.url, (x) => {
      x.ingress.auth = { usersFile: join(dir, 'users') };
      x.ingress.listeners[0]!.allowPlaintextAuth = true;
    });
    const { ingress, port } = await startIngress(c, { logger: log.logger });
    started.push(ingress);
    expect(await auth(port, 'alice', 'secret')).toBe('235 2.7.0 Authentication successful');

    for (const [version, user] of [
      ['..v2', 'bob'],
      ['..v3', 'carol'],
    ] as const) {
      mkdirSync(join(dir, version));
      writeFileSync(join(dir, version, 'users'), await usersFileText({ [user]: 'pw' }));
      symlinkSync(version, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      await eventually(
        () =>
          messages(log.lines()).filter((l) => l.msg === 'users file loaded').length ===
          (version === '..v2' ? 2 : 3),
        `the users file of ${version} loaded`,
      );
      expect(await auth(port, user, 'pw')).toBe('235 2.7.0 Authentication successful');
    }
    expect(await auth(port, 'alice', 'secret')).toBe(
      '535 5.7.8 Authentication credentials invalid',
    );
  });
});

describe('the TLS certificate, reloaded while ingress runs', () => {
  /** The subject CN of the certificate a new STARTTLS session is offered. */
  async function certificateName(port: number): Promise<string> {
    const smtp = await RawSmtp.open(port);
    await smtp.reply();
    await smtp.command('EHLO client.test');
    expect(await smtp.command('STARTTLS')).toMatch(/^220 /);
    smtp.socket.removeAllListeners('data');
    const secure = tlsConnect({ socket: smtp.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    const cn = secure.getPeerCertificate().subject.CN;
    secure.destroy();
    return Array.isArray(cn) ? cn.join(',') : (cn ?? '');
  }

  it('offers the replaced certificate to the next session', async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-reload-tls-'));
    const first = await makeCertificate(dir, 'first', 'first.petrel.test');
    const second = await makeCertificate(dir, 'second', 'second.petrel.test');
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    writeFileSync(cert, readFileSync(first.cert));
    writeFileSync(key, readFileSync(first.key));
    const log = capturedLogger();
    const c = ingressConfig(redis.url, (x) => (x.ingress.tls = { cert, key }));
    const { ingress, port } = await startIngress(c, { logger: log.logger });
    started.push(ingress);
    expect(await certificateName(port)).toBe('first.petrel.test');

    replace(key, readFileSync(second.key, 'utf8'));
    replace(cert, readFileSync(second.cert, 'utf8'));
    await eventually(
      async () => (await certificateName(port)) === 'second.petrel.test',
      'the second certificate offered',
    );

    // A broken certificate file keeps the second one in force.
    replace(cert, 'not a certificate\n');
    const failed = await eventually(
      () =>
        messages(log.lines()).find(
          (l) => l.msg === 'TLS certificate reload failed; the previous one stays in force',
        ),
      'the reload failure logged',
    );
    expect(failed.level).toBe('error');
    expect(await certificateName(port)).toBe('second.petrel.test');
  });
});
