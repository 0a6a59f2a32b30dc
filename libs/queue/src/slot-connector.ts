// How a Petrel connection reaches Redis Cluster: a plain (non-cluster)
// ioredis connection to the master serving the slot of its prefix's hash tag.
// Every key Petrel uses under a prefix is in that one slot, so one master
// holds the queue, its bodies and its counters, and the code written for one
// server (MULTI/WATCH on one connection, BullMQ's scripts, WAIT covering the
// connection's own writes) works unchanged. ioredis' Cluster client would
// send a keyless command such as WAIT to any node, and spread one caller's
// commands over several connections.
//
// Each connect, and each reconnect, asks the known nodes (the URL's seeds,
// then every node they named) CLUSTER SLOTS, and connects to the master of
// the slot. The connection reconnects, and so asks again, when the node
// answers MOVED or CLUSTERDOWN (the slot moved: a failover or a resharding)
// or when its ready check finds a replica (check()). While no node answers,
// it keeps asking, backing off to 2 s, and reports each round as an 'error'.
//
// Does not: follow ASK redirections (a slot being migrated; migrate a
// prefix's slot only with Petrel stopped), or read from replicas.

import { createConnection, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ClusterTarget } from '@petrel/config';
import { AbstractConnector, Redis } from 'ioredis';

interface Address {
  readonly host: string;
  readonly port: number;
}

/** The errors after which a cluster connection asks again where its slot is. */
export function isSlotMoved(err: Error): boolean {
  return /^(MOVED|CLUSTERDOWN|READONLY) /.test(err.message);
}

type SlotsReply = [number, number, [string, number, ...unknown[]], ...unknown[]][];

/** The master of `slot` as `seed` sees it, and every node it names; rejects when the seed does not answer. */
async function askSeed(
  seed: Address,
  target: ClusterTarget,
  slot: number,
  timeoutMs: number,
): Promise<{ master: Address | null; nodes: Address[] }> {
  const redis = new Redis({
    host: seed.host,
    port: seed.port,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const ranges = (await redis.call('CLUSTER', 'SLOTS')) as SlotsReply;
    let master: Address | null = null;
    const nodes: Address[] = [];
    for (const [start, end, ...servers] of ranges) {
      for (const server of servers as [string, number][]) {
        // An empty or "?" host: the node does not know its own address; it is the seed's.
        const host = server[0] === '' || server[0] === '?' ? seed.host : server[0];
        nodes.push({ host, port: Number(server[1]) });
      }
      if (slot >= start && slot <= end) master = nodes[nodes.length - servers.length]!;
    }
    return { master, nodes };
  } finally {
    redis.disconnect();
  }
}

export class SlotConnector extends AbstractConnector {
  readonly #target: ClusterTarget;
  readonly #slot: number;
  readonly #options: { connectTimeout?: number; tls?: object };
  /** The seeds first, then the nodes the cluster named. */
  #known: Address[];
  /** Where the connection went last (for messages and tests). */
  master: Address | null = null;

  constructor(
    options: { disconnectTimeout?: number; connectTimeout?: number; tls?: object },
    target: ClusterTarget,
    slot: number,
  ) {
    super(options.disconnectTimeout ?? 2_000);
    this.#options = options;
    this.#target = target;
    this.#slot = slot;
    this.#known = [...target.seeds];
  }

  override check(info: Record<string, string>): boolean {
    return info['role'] === undefined || info['role'] === 'master';
  }

  async connect(emit: (type: string, err: Error) => void): Promise<Socket> {
    this.connecting = true;
    this.firstError = undefined;
    const timeoutMs = this.#options.connectTimeout ?? 2_000;
    for (let round = 0; ; round++) {
      let lastError = 'no node named a master for it';
      for (const seed of [...this.#known]) {
        if (!this.connecting) throw new Error('Connection is closed.');
        try {
          const { master, nodes } = await askSeed(seed, this.#target, this.#slot, timeoutMs);
          this.#learn(nodes);
          if (master === null) continue;
          if (!this.connecting) throw new Error('Connection is closed.');
          this.master = master;
          const stream: Socket = this.#target.tls
            ? tlsConnect({ host: master.host, port: master.port, ...this.#options.tls })
            : createConnection({ host: master.host, port: master.port });
          stream.once('error', (err) => {
            this.firstError = err;
          });
          this.stream = stream;
          return stream;
        } catch (err) {
          if (!this.connecting) throw new Error('Connection is closed.');
          lastError = `${seed.host}:${seed.port}: ${(err as Error).message}`;
        }
      }
      emit(
        'error',
        new Error(
          `Redis Cluster: no node says which master serves slot ${this.#slot} (${lastError}); asking again`,
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** round, 2_000)));
    }
  }

  #learn(nodes: readonly Address[]): void {
    for (const node of nodes)
      if (!this.#known.some((k) => k.host === node.host && k.port === node.port))
        this.#known.push(node);
  }
}
