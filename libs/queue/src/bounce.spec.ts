// The shared bounce path and body references, on a real Redis: a DSN
// transaction written in a MULTI with its body, under the id asked for, and
// the reference count that deletes the body with its last reference.
import { startRedis, uniquePrefix, type RedisHandle } from '@petrel/testing';
import { DEFAULT_LIMITS, parsePath } from '@petrel/smtp';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBounce, queueTransaction } from './bounce.js';
import { adjustRefs, defineAdjustRefs, queueAdjustRefs } from './message-refs.js';
import { QUEUES } from './queues.js';
import { bodyKey, type TransactionJobV1 } from './transaction-job.js';

let server: RedisHandle;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

const path = (text: string) => {
  const parsed = parsePath(text, { kind: 'reverse', utf8Allowed: true, limits: DEFAULT_LIMITS });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.path;
};

const HEADERS = Buffer.from('From: a@a.test\r\nSubject: hi\r\n\r\n');

function bounceOf(reversePath: string, origin?: 'dsn') {
  return makeBounce({
    id: '01JDSN0000000000000000000A',
    prefix: '{p}',
    hostname: 'mx.petrel.test',
    instance: 'routing:test',
    now: new Date('2026-11-23T17:00:00Z'),
    original: {
      id: '01JORIG000000000000000000A',
      receivedAt: '2026-11-23T16:59:00Z',
      reversePath: path(reversePath),
      ...(origin ? { origin } : {}),
    },
    recipients: [
      {
        finalRecipient: 'x@missing.test',
        action: 'failed',
        status: '5.1.2',
        diagnostic: { type: 'x-petrel', text: '550 5.1.2 Domain missing.test does not exist' },
      },
    ],
    headers: HEADERS,
  });
}

describe('makeBounce', () => {
  it('makes a DSN transaction from <> to the reverse-path', () => {
    const bounce = bounceOf('<sender@a.test>')!;
    expect(bounce.job).toMatchObject({
      v: 1,
      id: '01JDSN0000000000000000000A',
      origin: 'dsn',
      verb: 'MAIL',
      reversePath: { route: [], mailbox: null, raw: '' },
      parameters: {},
      size: bounce.body.length,
      bodyKey: '{p}:body:01JDSN0000000000000000000A',
    });
    expect(bounce.job.recipients.map((r) => r.forwardPath.raw)).toEqual(['sender@a.test']);
    expect(bounce.body.toString()).toContain('Final-Recipient: rfc822; x@missing.test');
  });

  it('never bounces a message whose reverse-path is null, or a bounce', () => {
    expect(bounceOf('<>')).toBeNull();
    expect(bounceOf('<sender@a.test>', 'dsn')).toBeNull();
  });

  it('asks for SMTPUTF8 only when the recipient of the DSN is non-ASCII', () => {
    expect(bounceOf('<sendér@a.test>')!.job.parameters).toMatchObject({ smtputf8: true });
  });

  it('finds another boundary when the original contains the first', () => {
    const bounce = makeBounce({
      ...{
        id: '01JDSN0000000000000000000B',
        prefix: '{p}',
        hostname: 'mx.petrel.test',
        instance: 'routing:test',
        now: new Date('2026-11-23T17:00:00Z'),
        original: {
          id: '01JORIG000000000000000000B',
          receivedAt: '2026-11-23T16:59:00Z',
          reversePath: path('<sender@a.test>'),
        },
        recipients: [{ finalRecipient: 'x@missing.test', action: 'failed', status: '5.1.2' }],
      },
      headers: Buffer.from('X-Trap: 01JDSN0000000000000000000B/mx.petrel.test\r\n\r\n'),
    })!;
    expect(bounce.body.toString()).toContain(
      'boundary="01JDSN0000000000000000000B/mx.petrel.test=1"',
    );
  });
});

describe('queueTransaction and the body references, in one MULTI', () => {
  it('writes the body and the job under the id asked for, delayed when asked', async () => {
    const prefix = uniquePrefix('bounce');
    const queue = new Queue(QUEUES.transactions, { connection: redis, prefix });
    const client = await queue.getBackend().client;
    const bounce = bounceOf('<sender@a.test>')!;
    const job: TransactionJobV1 = { ...bounce.job, bodyKey: bodyKey(prefix, bounce.job.id) };
    const multi = (client as unknown as Redis).multi();
    await queueTransaction(multi, queue, { job, body: bounce.body });
    await queueTransaction(multi, queue, { job }, { jobId: `${job.id}.r1`, delay: 60_000 });
    const results = (await multi.exec())!;
    expect(results.every(([err]) => err === null)).toBe(true);
    expect(await redis.getBuffer(job.bodyKey)).toEqual(bounce.body);
    expect(await (await queue.getJob(job.id))!.getState()).toBe('waiting');
    const delayed = (await queue.getJob(`${job.id}.r1`))!;
    expect([await delayed.getState(), delayed.delay]).toEqual(['delayed', 60_000]);
    await queue.close();
  });

  it('deletes the body with its last reference, and only then', async () => {
    const prefix = uniquePrefix('refs');
    const keys = { refs: `${prefix}:refs:m`, body: `${prefix}:body:m` };
    await redis.set(keys.body, 'body');
    expect(await adjustRefs(redis, keys, 3)).toBe(3);
    expect(await adjustRefs(redis, keys, -2)).toBe(1);
    expect(await redis.exists(keys.body)).toBe(1);
    defineAdjustRefs(redis);
    const multi = redis.multi();
    queueAdjustRefs(multi, keys, -1);
    expect(await multi.exec()).toEqual([[null, 0]]);
    expect(await redis.exists(keys.body, keys.refs)).toBe(0);
    // A transaction that references nothing: the body goes at once.
    await redis.set(keys.body, 'body');
    expect(await adjustRefs(redis, keys, 0)).toBe(0);
    expect(await redis.exists(keys.body)).toBe(0);
  });
});
