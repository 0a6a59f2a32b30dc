// The store through Redis Sentinel (a redis+sentinel:// URL): a primary, two
// replicas, three sentinels. A writer stores transactions without pause with
// durability 'replicas' while the primary is failed over (planned, SENTINEL
// FAILOVER) and then crashed (SIGKILL, the sentinels elect; the crashed
// server restarts). Every store() that resolved (the 250 ingress would give)
// is on the last primary: body and job. Stores refused meanwhile are the 4yz
// a client retries.
//
// redis.replicas is the number of replicas, all of them. With fewer, a
// failover loses acknowledged mail: between the promotion of one replica and
// the demotion of the old primary, the old primary still takes writes, and
// another replica still acknowledges them (WAIT), and they vanish when the
// old primary resyncs from the new one. Measured with this test and
// replicas: 1 of 2, in two runs: 624 of 814 and 545 of 668 acknowledged stores
// lost (planned failover, then crash). With every replica in the WAIT, the
// promoted one has left the old primary, so the old primary can acknowledge
// nothing.
import { startSentinelGroup, uniquePrefix, type SentinelGroup } from '@petrel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, disconnectAll, missingFrom, ready, startWriter } from '../test/support/redis.js';
import { TransactionStore } from './transaction-store.js';

let group: SentinelGroup;

beforeAll(async () => {
  group = await startSentinelGroup({ replicas: 2 });
}, 60_000);

afterAll(async () => {
  disconnectAll();
  await group?.stop();
});

describe('TransactionStore through Sentinel', () => {
  it('connects to the primary the sentinels name', async () => {
    const redis = await ready(group.url);
    const port = Number(/tcp_port:(\d+)/.exec(await redis.info('server'))?.[1]);
    expect(port).toBe(Number(new URL((await group.primary()).url).port));
    expect(((await redis.call('ROLE')) as string[])[0]).toBe('master');
  });

  it('loses nothing it acknowledged across a planned failover and a primary crash', async () => {
    const prefix = uniquePrefix('sentinel');
    const store = new TransactionStore({
      redis: connect(group.url, 2_000),
      prefix,
      durability: 'replicas',
      replicas: 2, // every replica: see the header
      durabilityTimeoutMs: 2_000,
    });
    await store.init();

    const writer = startWriter(store);
    const { acknowledged, refused, storedBy } = writer;

    await storedBy(20);
    const first = await group.primary();
    const second = await group.failover();
    expect(second).not.toBe(first);
    await storedBy(acknowledged.length + 20); // writing again, to the new primary
    const third = await group.killPrimary();
    expect(third).not.toBe(second);
    // One replica is left: WAIT 2 cannot succeed, every store is refused (4yz)
    // until the crashed server is back, as its Deployment would bring it back,
    // and the sentinels make it a replica of the new primary.
    await second.restart!();
    await storedBy(acknowledged.length + 20);
    await writer.stop();
    await store.close();

    const last = await ready(third.url);
    const missing = await missingFrom(last, prefix, acknowledged);
    console.log(
      `sentinel: ${acknowledged.length} acknowledged, ${refused.length} refused during the failovers, ${missing.length} missing`,
    );
    expect(missing).toEqual([]);
  }, 120_000);
});
