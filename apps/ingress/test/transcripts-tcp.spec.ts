// The protocol core's transcripts (libs/smtp/test/transcripts/*.smtp), run
// against the running ingress over TCP, with Redis behind it: the same dialog
// file that runs against the pure machine in memory (STYLE.md).
//
// In memory the H: lines answer the host's questions; here the host is the
// real ingress policy, so a transcript runs when its H: and O: lines map onto
// a configuration that makes the real policy give those answers (mapping
// below), and is listed in CANNOT_RUN_OVER_TCP, with the reason, when not.
// Over TCP:
//   - O: options are configuration keys (limits.messageSize → maxMessageSize,
//     starttls → a generated certificate, auth → a users file, expn → lists);
//   - H: lines become configuration (rcpt -> reject: no trusted network and no
//     relay domain; auth ~alice -> accept: alice in the users file; expn lists);
//   - A: store is a 250 with the real queue id, and the job and body must be
//     in Redis; A: body is compared with the body in Redis less the Received
//     header ingress prepends; an S: line naming the in-memory host's queue id
//     (TESTQ…) matches any id;
//   - A: start-tls is a real TLS handshake (X: tls-started is that handshake);
//     A: close is the server closing the connection;
//   - X: drain calls the ingress's drain; X: timeout waits for ingress's own
//     timer (timeouts of 1 s for that transcript);
//   - at the end nothing more arrives, and Redis holds exactly one job and one
//     body per A: store: nothing half-stored, nothing stored that was refused.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PetrelConfig } from '@petrel/config';
import {
  matchReplyLine,
  parseTranscript,
  startRedis,
  type RedisHandle,
  type Step,
} from '@petrel/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countStored,
  ingressConfig,
  makeCertificate,
  readJob,
  startIngress,
  stripReceived,
  usersFileText,
} from './support/ingress-harness.js';
import { ReplyLineClient } from './support/reply-line-client.js';

const dir = join(import.meta.dirname, '../../../libs/smtp/test/transcripts');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.smtp'))
  .sort();

/**
 * The transcripts whose host answers the real policy cannot give, or whose
 * events a socket cannot cause. plan() must agree: a new transcript that
 * cannot run fails the suite until it is listed here with its reason.
 */
const CANNOT_RUN_OVER_TCP: Record<string, string> = {
  'auth-errors':
    'O: limits.authLine=40 has no ingress setting, and H: auth -> defer (454) needs our own trouble (Redis failing) in the middle of the dialog',
  'data-store-verdicts':
    "H: store -> defer/reject: ingress's own store refusals say 'message not stored, try again later' (451) and 'Too many hops: mail loop suspected' (554), not the texts the transcript expects, and a 451 needs Redis failing mid-dialog",
  'host-disconnect':
    'H: mail -> disconnect: the real policy disconnects at MAIL only past the message rate, which the first MAIL of a session cannot be (backpressure.spec.ts shows the same reply over TCP)',
  'mail-storage-watermark':
    'H: mail -> defer: the real policy defers MAIL only above the queue watermark, which needs a filled queue (backpressure.spec.ts shows the same reply over TCP)',
  'rcpt-host-verdicts':
    'H: rcpt -> reject 550 / defer 450 / defer: ingress refuses recipients only with 554 5.7.1 (relay), never per mailbox',
  'turn-enabled':
    'O: turn=true, A: turn: ingress does not offer TURN (it needs egress to deliver the held queue) and answers 502',
};

interface Fixtures {
  readonly cert: string;
  readonly key: string;
  readonly users: string;
}

type Plan = { ok: true; configure: (c: PetrelConfig) => void } | { ok: false; reason: string };

/** The configuration under which the real policy answers as the transcript's host does. */
function plan(steps: readonly Step[], fixtures: Fixtures): Plan {
  const reasons: string[] = [];
  const changes: ((c: PetrelConfig) => void)[] = [];
  const lists: Record<string, string[]> = {};
  let users = false;
  let tls = false;
  let dialogStarted = false;
  for (const s of steps) {
    if (s.kind === 'client') dialogStarted = true;
    if (s.kind === 'option') {
      const value = s.value;
      if (s.key === 'starttls' && value === 'true') {
        // In memory auth defaults to "after TLS": the real listener offers it when a users file is set.
        tls = true;
        users = true;
      } else if (s.key === 'auth' && value === 'always') {
        users = true;
        changes.push((c) => (c.ingress.listeners[0]!.allowPlaintextAuth = true));
      } else if (s.key === 'expn' && value === 'true') {
        changes.push((c) => (c.ingress.expn.enabled = true));
      } else if (s.key === 'hostname') {
        changes.push((c) => (c.ingress.hostname = value));
      } else if (s.key === 'limits.messageSize') {
        changes.push((c) => (c.ingress.maxMessageSize = Number(value)));
      } else if (s.key === 'limits.recipients' && Number(value) >= 100) {
        changes.push((c) => (c.ingress.maxRecipients = Number(value)));
      } else if (s.key === 'limits.errors') {
        changes.push((c) => (c.ingress.maxErrors = Number(value)));
      } else {
        reasons.push(`O: ${s.key}=${value} has no ingress setting`);
      }
    } else if (s.kind === 'host') {
      const text = `H: ${s.question}${s.match === null ? '' : ` ~${s.match}`} -> ${s.verdict}`;
      const expn = /^accept\s+(.+)$/.exec(s.verdict);
      if (dialogStarted) {
        reasons.push(`${text} changes the answer in the middle of the dialog`);
      } else if (s.question === 'rcpt' && s.match === null && s.verdict === 'reject') {
        // No trusted network and no relay domain: every recipient is 554 5.7.1.
        changes.push((c) => {
          c.ingress.trustedNetworks = [];
          c.ingress.relayDomains = [];
        });
      } else if (s.question === 'auth' && s.match === 'alice' && s.verdict === 'accept') {
        users = true; // alice:secret is in the users file; nobody else.
      } else if (s.question === 'expn' && s.match !== null && expn !== null) {
        lists[`${s.match}@example.test`] = expn[1]!
          .split('|')
          .map((m) => m.trim().replace(/^<(.*)>$/, '$1'));
      } else if (
        s.question === 'expn' &&
        s.match !== null &&
        s.verdict === 'reject 550 5.1.1 No such list'
      ) {
        // What ingress answers for a list it does not have.
      } else {
        reasons.push(`${text}: the real policy gives no such answer`);
      }
    } else if (s.kind === 'event') {
      if (s.event === 'timeout') {
        changes.push((c) => (c.ingress.timeouts = { commandMs: 1000, dataMs: 1000 }));
      } else if (s.event !== 'tls-started' && s.event !== 'drain') {
        reasons.push(`X: ${s.event} has no counterpart over TCP`);
      }
    } else if (s.kind === 'action' && !['store', 'close', 'start-tls'].includes(s.action)) {
      reasons.push(`A: ${s.action} has no counterpart over TCP`);
    }
  }
  if (reasons.length > 0) return { ok: false, reason: reasons.join('; ') };
  return {
    ok: true,
    configure(c) {
      for (const change of changes) change(c);
      if (tls) c.ingress.tls = { cert: fixtures.cert, key: fixtures.key };
      if (users) c.ingress.auth = { usersFile: fixtures.users };
      if (Object.keys(lists).length > 0) c.routing.lists = lists;
    },
  };
}

interface Hooks {
  /** X: drain. */
  drain(): void;
}

interface ExpectedStore {
  readonly line: number;
  id: string | null;
  body: Buffer | null;
}

/**
 * Runs one transcript against the ingress listening on `port`; returns the
 * stores the dialog expects, each with the queue id the server gave.
 */
async function runOverTcp(
  source: string,
  name: string,
  port: number,
  hooks: Hooks,
): Promise<ExpectedStore[]> {
  const steps = parseTranscript(source);
  const client = await ReplyLineClient.open(port);
  const stores: ExpectedStore[] = [];
  let awaitingId: ExpectedStore | null = null;
  let pending: Buffer[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    client.write(Buffer.concat(pending));
    pending = [];
  };
  try {
    for (const step of steps) {
      const where = `${name}:${step.line}`;
      if (step.kind !== 'client') flush();
      switch (step.kind) {
        case 'option':
        case 'host':
          break;
        case 'client':
          pending.push(step.bytes);
          break;
        case 'server': {
          const actual = await client.line();
          if (actual === null)
            throw new Error(`${where}: expected "${step.pattern}", the server closed`);
          // The in-memory host's queue ids are TESTQ…; here the real store names the id.
          const pattern = step.pattern.replace(/queued as TESTQ\*$/, 'queued as *');
          if (!matchReplyLine(pattern, actual))
            throw new Error(`${where}: expected "${step.pattern}", got "${actual}"`);
          if (awaitingId !== null) {
            const id = /^250 2\.0\.0 Ok: queued as (\S+)$/.exec(actual)?.[1];
            if (id === undefined)
              throw new Error(
                `${name}:${awaitingId.line}: A: store expects a 250 with the queue id, got "${actual}"`,
              );
            awaitingId.id = id;
            awaitingId = null;
          }
          break;
        }
        case 'action':
          if (step.action === 'store') {
            awaitingId = { line: step.line, id: null, body: null };
            stores.push(awaitingId);
          } else if (step.action === 'close') {
            if (!(await client.waitClosed(2000)))
              throw new Error(`${where}: expected the server to close the connection`);
            if (client.pending.length > 0)
              throw new Error(
                `${where}: the server said more before closing: ${JSON.stringify(client.pending.toString('latin1'))}`,
              );
          } else if (step.action === 'start-tls') {
            await client.startTls();
          } else {
            throw new Error(`${where}: A: ${step.action} cannot run over TCP`);
          }
          break;
        case 'body': {
          const last = stores.at(-1);
          if (last === undefined) throw new Error(`${where}: A: body before any A: store`);
          last.body = step.bytes;
          break;
        }
        case 'event':
          if (step.event === 'drain') hooks.drain();
          // tls-started: the handshake of A: start-tls; timeout: ingress's own timer fires.
          break;
      }
    }
    flush();
    await client.settle();
    if (client.pending.length > 0)
      throw new Error(
        `${name}: the server said more than the transcript expects: ${JSON.stringify(client.pending.toString('utf8'))}`,
      );
    const unbound = stores.find((s) => s.id === null);
    if (unbound !== undefined)
      throw new Error(`${name}:${unbound.line}: A: store, but no 250 with a queue id followed`);
    return stores;
  } finally {
    client.destroy();
  }
}

/**
 * Starts an ingress configured by `configure`, runs the transcript against it,
 * then checks Redis: each A: store's job and body (A: body less the Received
 * header), and nothing else stored.
 */
async function runAgainstIngress(
  source: string,
  name: string,
  configure: (c: PetrelConfig) => void = () => undefined,
): Promise<void> {
  const c = ingressConfig(redis.url, configure);
  const { ingress, port } = await startIngress(c);
  let drained: Promise<void> | null = null;
  try {
    const stores = await runOverTcp(source, name, port, {
      drain: () => (drained = ingress.drain()),
    });
    for (const s of stores) {
      const job = await readJob(client, c, s.id!);
      if (job === null) throw new Error(`${name}:${s.line}: no job ${s.id} in Redis`);
      if (job.data.size !== job.body.length)
        throw new Error(`${name}:${s.line}: job size ${job.data.size} != body ${job.body.length}`);
      const body = stripReceived(job.body);
      if (s.body !== null && !body.equals(s.body))
        throw new Error(
          `${name}:${s.line}: the body in Redis ${JSON.stringify(body.toString('latin1'))} != ${JSON.stringify(s.body.toString('latin1'))}`,
        );
    }
    const stored = await countStored(client, c);
    if (stored.jobs !== stores.length || stored.bodies !== stores.length)
      throw new Error(
        `${name}: Redis holds ${stored.jobs} jobs and ${stored.bodies} bodies, the transcript stores ${stores.length}`,
      );
    if (drained !== null) {
      await drained;
      if (ingress.ready) throw new Error(`${name}: still ready after the drain`);
    }
  } finally {
    await ingress.stop();
  }
}

let redis: RedisHandle;
let client: Redis;
let fixtureDir: string;
let fixtures: Fixtures;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
  fixtureDir = mkdtempSync(join(tmpdir(), 'petrel-transcripts-tcp-'));
  const { cert, key } = await makeCertificate(fixtureDir);
  const users = join(fixtureDir, 'users');
  writeFileSync(users, await usersFileText({ alice: 'secret' }));
  fixtures = { cert, key, users };
});

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
  if (fixtureDir !== undefined) rmSync(fixtureDir, { recursive: true, force: true });
});

describe('transcripts over TCP against the running ingress', () => {
  const parsed = files.map((file) => {
    const source = readFileSync(join(dir, file), 'utf8');
    return { file, name: file.replace(/\.smtp$/, ''), source, steps: parseTranscript(source) };
  });

  it('runs every transcript that can run over TCP; the others are listed with their reason', () => {
    const dummy: Fixtures = { cert: 'c', key: 'k', users: 'u' };
    const cannot = parsed.filter((t) => !plan(t.steps, dummy).ok).map((t) => t.name);
    expect(cannot).toEqual(Object.keys(CANNOT_RUN_OVER_TCP).sort());
    expect(parsed.length - cannot.length).toBeGreaterThan(35);
  });

  for (const t of parsed) {
    const reason = CANNOT_RUN_OVER_TCP[t.name];
    if (reason !== undefined) {
      it.skip(`${t.name} (cannot run over TCP: ${reason})`, () => undefined);
      continue;
    }
    it(t.name, async () => {
      const planned = plan(t.steps, fixtures);
      if (!planned.ok) throw new Error(`${t.file}: ${planned.reason}`);
      await runAgainstIngress(t.source, t.file, planned.configure);
    });
  }
});

describe('the TCP runner itself', () => {
  const dialog = (...lines: string[]) =>
    ['S: 220 *', 'C: HELO client.test', 'S: 250 *', ...lines].join('\n');
  const transaction = [
    'C: MAIL FROM:<a@client.test>',
    'S: 250 *',
    'C: RCPT TO:<b@example.test>',
    'S: 250 *',
    'C: DATA',
    'S: 354 *',
  ];

  it('fails on a reply that does not match', async () => {
    await expect(
      runAgainstIngress(dialog('C: NOOP', 'S: 250 2.0.0 Okay'), 'wrong'),
    ).rejects.toThrow(/wrong:5: expected "250 2.0.0 Okay", got "250 2.0.0 Ok"/);
  });

  it('fails when the server says more than the transcript expects', async () => {
    await expect(
      runAgainstIngress(dialog('C: NOOP', 'C: NOOP', 'S: 250 *'), 'more'),
    ).rejects.toThrow(
      /more: the server said more than the transcript expects: "250 2.0.0 Ok\\r\\n"/,
    );
  });

  it('fails when the body in Redis is not the A: body', async () => {
    const source = dialog(
      ...transaction,
      'C: x',
      'C: .',
      'A: store',
      'A: body y\\r\\n',
      'S: 250 *',
    );
    await expect(runAgainstIngress(source, 'body')).rejects.toThrow(
      /body:\d+: the body in Redis "x\\r\\n" != "y\\r\\n"/,
    );
  });

  it('fails when A: store is not answered with a queue id', async () => {
    const source = dialog(...transaction, 'C: x', 'C: .', 'A: store', 'S: 5yz *');
    await expect(
      runAgainstIngress(source, 'refused', (c) => (c.ingress.maxMessageSize = 1)),
    ).rejects.toThrow(/refused:12: A: store expects a 250 with the queue id, got "552 5\.3\.4/);
    const quiet = dialog(...transaction, 'C: x', 'C: .', 'S: 250 *');
    await expect(runAgainstIngress(quiet, 'unexpected')).rejects.toThrow(
      /Redis holds 1 jobs and 1 bodies, the transcript stores 0/,
    );
  });

  it('fails when the server does not close at A: close', async () => {
    await expect(runAgainstIngress(dialog('A: close'), 'open')).rejects.toThrow(
      /open:4: expected the server to close the connection/,
    );
  });
});
