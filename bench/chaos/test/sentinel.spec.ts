// The whole relay on Redis Sentinel (issue 9): ingress, routing and egress
// on a redis+sentinel:// URL with durability replicas (every replica), a
// primary, two replicas and three sentinels (libs/testing), mail flowing at
// a steady rate while the primary is failed over (planned) and then crashed
// (the sentinels elect; the crashed server restarts, as its pod would).
// Every message given a 250 is delivered; the queues drain; no job failed.
import {
  killServices,
  startSentinelGroup,
  startTestSink,
  uniquePrefix,
  type SentinelGroup,
  type TestSink,
} from '@petrel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../src/ledger.js';
import { runLoad } from '../src/load.js';
import { waitForDrain } from '../src/queue-state.js';
import { ledgerDeliveries, startRelay } from './support/relay.js';

describe('the relay through a Sentinel failover', () => {
  let group: SentinelGroup;
  let sink: TestSink;
  let smtpPort: number;
  const prefix = uniquePrefix('sentinel');

  beforeAll(async () => {
    group = await startSentinelGroup({ replicas: 2 });
    sink = await startTestSink();
    smtpPort = await startRelay(sink, 'relay.sentinel.test', {
      PETREL_REDIS__URL: group.url,
      PETREL_REDIS__PREFIX: `'${prefix}'`,
      PETREL_REDIS__DURABILITY: 'replicas',
      PETREL_REDIS__REPLICAS: '2',
      PETREL_REDIS__DURABILITY_TIMEOUT: '2s',
    });
  }, 120_000);

  afterAll(async () => {
    killServices();
    await sink?.close();
    await group?.stop();
  }, 60_000);

  it('delivers every message given a 250 across a planned failover and a primary crash', async () => {
    const ledger = new Ledger();
    const load = runLoad(
      {
        host: '127.0.0.1',
        port: smtpPort,
        messages: 600,
        ratePerSecond: 30,
        clients: 8,
        domains: ['d0.test'],
      },
      ledger,
    );
    await new Promise((r) => setTimeout(r, 4_000));
    const before = await group.primary();
    const afterFailover = await group.failover();
    await new Promise((r) => setTimeout(r, 4_000));
    const crashed = await group.primary();
    const afterCrash = await group.killPrimary();
    await crashed.restart!();
    await load;
    const drained = await waitForDrainSentinel();
    ledgerDeliveries(sink, ledger);
    const report = ledger.report();
    console.log(
      `sentinel: primary ${before.url} -> ${afterFailover.url} (planned) -> ${afterCrash.url} (crash); ` +
        `${report.accepted}/${report.sent} given a 250, ${report.delivered} delivered, ${report.lost.length} lost, ` +
        `${report.duplicates.length} duplicates; refusals ${JSON.stringify(report.refusals.slice(0, 5))}`,
    );
    expect(report.lost).toEqual([]);
    expect(report.accepted).toBe(600);
    expect(drained).toMatchObject({ pending: 0, failed: 0 });
  }, 300_000);

  async function waitForDrainSentinel() {
    // queue-state.ts reads through a plain URL: the primary's, now.
    const primary = await group.primary();
    return waitForDrain(primary.url, prefix, 120_000);
  }
});
