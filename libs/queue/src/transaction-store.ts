// The store path whose success alone allows ingress to answer 250 after DATA
// (SAFETY.md "Durability: the 250 after DATA"; RFC 5321 §6.1). store():
//   1. SET <prefix>:body:<id>  the body octets
//   2. the `transactions` job   BullMQ add, jobId = id (one Lua script, atomic)
//   3. durability               nothing / WAIT / WAITAOF, see durability.ts
// all on the ONE connection given, so that WAIT/WAITAOF covers both writes.
// It resolves only when all three succeeded; otherwise it rejects with a
// StoreError and the caller answers 4yz.
//
// A body of up to 1 MB goes with its job in one MULTI/EXEC: one round trip
// and, with appendfsync always, one fsync instead of two; both are written
// or neither (a refusal such as OOM aborts the whole MULTI). The message's
// "received" event and the `accepted` counter (message-events.ts,
// queue-stats.ts), when given, go in the same MULTI: they cost no round trip
// of their own. Its failures:
//   - EXEC refused (EXECABORT): nothing was written.
//   - EXEC's outcome unknown (timeout, connection lost): body and job may
//     exist: the job is withdrawn if still waiting, the body kept.
// A larger body is SET first, with a client-side timeout that grows with its
// size (a MULTI's commands share the client's one timeout), then the job is
// added; the failures of these two steps are the ones below. The event and
// the counter then follow the job, without delaying the resolution.
//
// Where a failure or a crash leaves what (the client got no 250 in every
// case but the last, so it keeps the message and sends it again, under a
// new id):
//   - step 1 fails: the body is deleted (best effort; the SET may have run).
//   - crash (ingress or Redis) after step 1 reached Redis, before step 2: an
//     orphan body, referenced by nothing. Routing's sweep (orphan-sweeper.ts)
//     deletes it once it is an hour old.
//   - step 2 refused by Redis (an error reply: no job was written): the body
//     is deleted (best effort).
//   - step 2's outcome unknown (command timeout, connection lost): the job may
//     exist. It is withdrawn if still waiting (best effort). The body is kept,
//     because a job that exists, or that routing already took, needs it: the
//     worst cases are an orphan body, or a message delivered that the client
//     also sends again (a duplicate, never a loss).
//   - step 3 fails (too few acknowledgements, timeout, error): as for an
//     unknown step 2: withdraw the job if still waiting, keep the body.
//   - crash after store() resolved, before the 250 reached the client: the
//     message is stored and will be delivered; the client resends: duplicate.
// A store refused after its MULTI ran (the durability step failed) leaves
// its event and counter behind: the job is withdrawn only if no worker took
// it, so the message may still be delivered, and the event is then true.
// Never: a job without its body, or a 250 for writes not yet durable.
//
// Job options: jobId = id; removeOnComplete (the body outlives the job; routing
// references it from deliveries); kept when failed; attempts effectively
// unlimited with a bounded backoff, so BullMQ never fails a transaction by
// itself. Routing's Worker must also raise maxStalledCount (BullMQ's default
// of 1 moves a job whose worker died twice to `failed`: for a relay a silent
// loss) and may fail a job only on purpose (UnrecoverableError) after it has
// bounced or recorded what it could not route.
//
// Does not: own the connection (close() leaves it open), sweep orphan bodies
// (orphan-sweeper.ts does), or re-check the Redis configuration after init().

import type { Socket } from 'node:net';
import { Job, Queue, type JobsOptions } from 'bullmq';
import { Command, type Redis } from 'ioredis';
import { awaitDurability, durabilityStep, type DurabilityStep } from './durability.js';
import { queueEvent, recordEvent, type MessageEvent } from './message-events.js';
import { execMulti } from './multi-scripts.js';
import { queueStats } from './queue-stats.js';
import { whenReady } from './redis-client.js';
import {
  durabilityProblems,
  inspectRedis,
  type Durability,
  type RedisFacts,
} from './redis-facts.js';
import { QUEUES } from './queues.js';
import { UNLIMITED } from './worker-options.js';
import { isReplyError, StoreError, toStoreError } from './store-error.js';
import {
  assertSafeEnvelope,
  bodyKey,
  TRANSACTION_JOB_NAME,
  type TransactionJobV1,
} from './transaction-job.js';

export interface TransactionStoreOptions {
  /**
   * ioredis client (createRedis(): fail-fast). The store uses this ONE
   * connection for body, job and WAIT/WAITAOF, so that WAIT covers its writes.
   */
  readonly redis: Redis;
  /** BullMQ prefix, hash-tagged (e.g. `{petrel}`): the queue's keys and the bodies share one slot. */
  readonly prefix: string;
  readonly durability: Durability;
  /** Replicas that must acknowledge each message (durability 'replicas'). */
  readonly replicas: number;
  /** Server-side timeout of WAIT/WAITAOF, in ms (at least 1: 0 would mean forever). */
  readonly durabilityTimeoutMs: number;
  /** How long init() waits for the connection to be ready; default 10 s. */
  readonly readyTimeoutMs?: number;
}

/** What store() records with the message besides body and job. */
export interface StoreOptions {
  /**
   * The message's "received" event, recorded with the `accepted` counter in
   * the store's MULTI (after the job, for a body over 1 MB).
   */
  readonly event?: MessageEvent;
}

/** The part of a transaction the caller supplies; the store adds v, size and bodyKey. */
export type TransactionRecord = Omit<TransactionJobV1, 'v' | 'bodyKey' | 'size'>;

const DEPTH_CACHE_MS = 1_000;
/**
 * The body's SET may take longer than the client's command timeout allows a
 * small command: it gets 1 ms more per 10 kB (10 MB/s), so that a 25 MB
 * message is not refused forever on a link or disk that is merely slow.
 */
const BODY_OCTETS_PER_MS = 10_000;
/** Bodies up to this size are written with their job in one MULTI (see the header). */
const ONE_WRITE_MAX_OCTETS = 1024 * 1024;

/** The options of every `transactions` job (ingress's, and the DSNs and routing retries others add). */
export const TRANSACTION_JOB_OPTIONS: JobsOptions = {
  attempts: UNLIMITED,
  backoff: { type: 'fixed', delay: 5_000, jitter: 0.5 },
  removeOnComplete: true,
  removeOnFail: false,
};

export class TransactionStore {
  readonly #options: TransactionStoreOptions;
  #queue: Queue | null = null;
  /** The queue's client (the same connection, with BullMQ's commands), for the MULTIs. */
  #client: Redis | null = null;
  #step: DurabilityStep | null = null;
  #depth: { readonly at: number; readonly value: Promise<number> } | null = null;
  #closed = false;
  /** The Redis socket corked until the end of this event-loop turn, if any. */
  #corked: Socket | null = null;
  readonly #cleanUps = new Set<Promise<void>>();

  constructor(options: TransactionStoreOptions) {
    if (options.prefix === '') throw new Error('TransactionStore: prefix is empty');
    if (
      options.durability !== 'none' &&
      !(Number.isInteger(options.durabilityTimeoutMs) && options.durabilityTimeoutMs >= 1)
    ) {
      throw new Error(
        `TransactionStore: durabilityTimeoutMs must be a whole number of ms, at least 1 (got ${options.durabilityTimeoutMs})`,
      );
    }
    if (!(Number.isInteger(options.replicas) && options.replicas >= 0)) {
      throw new Error(
        `TransactionStore: replicas must be a whole number, at least 0 (got ${options.replicas})`,
      );
    }
    this.#options = options;
  }

  /**
   * Waits for the connection, inspects Redis and refuses (throws an Error
   * listing every problem, each naming its setting) when Redis cannot keep
   * the configured durability promise. Ingress does not start without it.
   */
  async init(): Promise<RedisFacts> {
    const { redis, prefix, durability, replicas } = this.#options;
    if (this.#closed) throw new Error('TransactionStore: closed');
    await whenReady(redis, this.#options.readyTimeoutMs ?? 10_000);
    const facts = await inspectRedis(redis);
    const problems = durabilityProblems(facts, durability, replicas);
    if (problems.length > 0) {
      throw new Error(
        `Redis ${facts.version} cannot keep the promise of durability '${durability}':\n` +
          problems.map((problem) => `  - ${problem}`).join('\n'),
      );
    }
    if (this.#queue === null) {
      const queue = new Queue(QUEUES.transactions, { connection: redis, prefix });
      // Errors reach store()'s callers as rejections; the caller logs the client's own 'error' events.
      queue.on('error', () => undefined);
      await queue.waitUntilReady();
      this.#client = (await queue.getBackend().client) as unknown as Redis;
      this.#queue = queue;
    }
    this.#step = durabilityStep(facts, durability, replicas);
    return facts;
  }

  /**
   * Stores body and transaction durably. Resolves with the job as stored only
   * when everything succeeded; rejects with a StoreError otherwise.
   */
  async store(
    record: TransactionRecord,
    body: readonly Buffer[],
    options: StoreOptions = {},
  ): Promise<TransactionJobV1> {
    const queue = this.#queue;
    if (queue === null || this.#closed) {
      throw new StoreError(
        'error',
        this.#closed ? 'TransactionStore: closed' : 'TransactionStore: init() has not succeeded',
      );
    }
    const { redis, prefix } = this.#options;
    let size = 0;
    for (const chunk of body) size += chunk.length;
    const key = bodyKey(prefix, record.id);
    const job: TransactionJobV1 = {
      v: 1,
      id: record.id,
      receivedAt: record.receivedAt,
      client: record.client,
      ingress: record.ingress,
      verb: record.verb,
      reversePath: record.reversePath,
      parameters: record.parameters,
      recipients: record.recipients,
      size,
      bodyKey: key,
    };
    try {
      assertSafeEnvelope(job);
    } catch (err) {
      throw new StoreError('error', `refusing to store ${record.id}: ${(err as Error).message}`);
    }

    const value = body.length === 1 ? body[0]! : Buffer.concat(body, size);
    if (size <= ONE_WRITE_MAX_OCTETS) await this.#storeTogether(queue, job, value, options.event);
    else {
      await this.#storeApart(queue, job, value);
      if (options.event !== undefined)
        void recordEvent(redis, prefix, job.id, options.event, { accepted: 1 });
    }

    const step = this.#step;
    if (step !== null) {
      try {
        this.#coalesceWrites();
        await awaitDurability(redis, step, this.#options.durabilityTimeoutMs);
      } catch (err) {
        this.#cleanUp(() => this.#withdraw(record.id));
        throw toStoreError(err, `making ${record.id} durable`);
      }
    }
    return job;
  }

  /** Body and job (and the event and counter, if any) in one MULTI/EXEC. */
  async #storeTogether(
    queue: Queue,
    job: TransactionJobV1,
    value: Buffer,
    event: MessageEvent | undefined,
  ): Promise<void> {
    const connection = this.#client ?? this.#options.redis;
    const multi = connection.multi();
    multi.set(job.bodyKey, value);
    const options = { ...TRANSACTION_JOB_OPTIONS, jobId: job.id };
    await new Job(queue, TRANSACTION_JOB_NAME, job, options, job.id).addJob(multi as never);
    if (event !== undefined) {
      queueEvent(multi, this.#options.prefix, job.id, event);
      queueStats(multi, this.#options.prefix, { accepted: 1 });
    }
    let results;
    try {
      this.#coalesceWrites();
      // Its scripts loaded first, in the same write (multi-scripts.ts): an
      // EXECABORT before would otherwise make the next job add a NOSCRIPT.
      results = await execMulti(connection, multi);
    } catch (err) {
      // EXECABORT: nothing was written. Otherwise the outcome is unknown.
      if (!isReplyError(err)) this.#cleanUp(() => this.#withdraw(job.id));
      throw toStoreError(err, `storing ${job.id}`);
    }
    const failed = results?.find(([err]) => err !== null)?.[0];
    if (results === null || failed !== undefined) {
      // A command failed as it ran (never seen: SET and the add script fail
      // only on refusals, which abort the MULTI): remove whatever it wrote.
      this.#cleanUp(async () => {
        await this.#withdraw(job.id);
        await this.#deleteBody(job.bodyKey);
      });
      throw toStoreError(failed ?? new Error('EXEC returned nothing'), `storing ${job.id}`);
    }
  }

  /** The body's SET (its timeout grown with its size), then the job. */
  async #storeApart(queue: Queue, job: TransactionJobV1, value: Buffer): Promise<void> {
    const { redis } = this.#options;
    const key = job.bodyKey;
    const size = value.length;
    try {
      const set = new Command('set', [key, value]);
      // Armed before sendCommand, which then keeps it instead of the client's default.
      set.setTimeout(
        (redis.options.commandTimeout ?? 1_000) + Math.ceil(size / BODY_OCTETS_PER_MS),
      );
      this.#coalesceWrites();
      redis.sendCommand(set);
      await set.promise;
    } catch (err) {
      this.#cleanUp(() => this.#deleteBody(key));
      throw toStoreError(err, `storing the body of ${job.id}`);
    }

    try {
      this.#coalesceWrites();
      await queue.add(TRANSACTION_JOB_NAME, job, { ...TRANSACTION_JOB_OPTIONS, jobId: job.id });
    } catch (err) {
      if (isReplyError(err)) this.#cleanUp(() => this.#deleteBody(key));
      else this.#cleanUp(() => this.#withdraw(job.id));
      throw toStoreError(err, `adding the job ${job.id}`);
    }
  }

  /** Transactions not yet routed: waiting (paused or not), delayed, prioritized and active; cached for 1 s. */
  depth(): Promise<number> {
    const queue = this.#queue;
    if (queue === null)
      return Promise.reject(new StoreError('error', 'TransactionStore: init() has not succeeded'));
    const now = Date.now();
    if (this.#depth !== null && now - this.#depth.at < DEPTH_CACHE_MS) return this.#depth.value;
    const value = queue.getJobCountByTypes('waiting', 'delayed', 'prioritized', 'active');
    const entry = { at: now, value };
    this.#depth = entry;
    value.catch(() => {
      if (this.#depth === entry) this.#depth = null;
    });
    return value;
  }

  /** Stops using the connection; does not close it (the caller owns it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#cleanUps);
    const queue = this.#queue;
    this.#queue = null;
    await queue?.close();
  }

  /** Resolves when the clean-ups of failed stores so far have finished (for tests and close()). */
  async settled(): Promise<void> {
    await Promise.all(this.#cleanUps);
  }

  /**
   * Holds this turn of the event loop's writes to Redis and sends them as one
   * (a writev) at its end (setImmediate: after every socket read of the turn):
   * the stores of many sessions that end their DATA, or get a reply, in the
   * same turn cost one write and one wake-up of Redis instead of one each.
   * Order is kept (a corked socket is a FIFO), and nothing waits longer than
   * the rest of the current turn.
   */
  #coalesceWrites(): void {
    const stream = (this.#options.redis as { stream?: Socket }).stream;
    if (stream === undefined || this.#corked === stream || stream.writableCorked > 0) return;
    stream.cork();
    this.#corked = stream;
    setImmediate(() => {
      if (this.#corked === stream) this.#corked = null;
      stream.uncork();
    });
  }

  /**
   * Runs a best-effort clean-up without delaying the rejection: the client
   * is answered 4yz at once, not after a second command timeout. Its first
   * command is written at once on the same connection, so Redis runs it
   * after the failed command.
   */
  #cleanUp(task: () => Promise<void>): void {
    const running: Promise<void> = task()
      .catch(() => undefined)
      .finally(() => this.#cleanUps.delete(running));
    this.#cleanUps.add(running);
  }

  async #deleteBody(key: string): Promise<void> {
    try {
      await this.#options.redis.del(key);
    } catch {
      // Best effort: an orphan body is harmless (see the header).
    }
  }

  /** Removes the job if no worker has taken it; best effort. The body stays (see the header). */
  async #withdraw(id: string): Promise<void> {
    try {
      await this.#queue?.remove(id);
    } catch {
      // Locked by a worker, or Redis unavailable: the job, if it exists, will be delivered.
    }
  }
}
