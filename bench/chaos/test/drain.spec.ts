// The two drains of issue 9, in a local cluster under load (bench/cluster):
//   - SIGTERM to an ingress process while clients send through HAProxy (and
//     a slow client holds a DATA open on it): the process stops taking
//     sessions and finishes the open ones (the slow DATA gets its 250), its clients
//     get their 250 or a 421/refused connection and retry through HAProxy on
//     the other ingress, nothing given a 250 is lost, and the process exits 0
//     within the drain timeout (well within the grace period).
//   - SIGTERM to an egress process with deliveries in flight (the next hop
//     takes 1.5 s to answer each message): it takes no new job, its jobs end
//     (finished or back to the queue), the other egress delivers the rest,
//     and it exits 0. Every message is delivered.
import { startCluster, type Cluster } from '@petrel/bench-cluster';
import { SmtpDialog } from '@petrel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chaosTarget } from '../src/cluster-target.js';
import { Ledger } from '../src/ledger.js';
import { runLoad } from '../src/load.js';
import { queueState, waitForDrain } from '../src/queue-state.js';

const DRAIN_TIMEOUT_MS = 10_000;

describe('drains under load', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({
      ingress: 2,
      routing: 1,
      egress: 2,
      sinks: 1,
      durability: 'fsync',
      config: {
        ingress: {
          drainTimeout: `${DRAIN_TIMEOUT_MS / 1000}s`,
          limits: { connectionsPerClient: 0, messagesPerClientPerMinute: 0 },
        },
        egress: { retry: { schedule: ['1s'] } },
      },
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  const settle = async (ledger: Ledger) => {
    const target = chaosTarget(cluster);
    const queue = await waitForDrain(target.redisUrl, target.prefix, 60_000);
    for (const d of target.delivered()) ledger.delivered(d);
    return { queue, report: ledger.report() };
  };

  it('drains an ingress process: its clients retry elsewhere, nothing is lost', async () => {
    const ledger = new Ledger();
    const load = runLoad(
      {
        host: cluster.smtp.host,
        port: cluster.smtp.port,
        messages: 400,
        ratePerSecond: 40,
        clients: 16,
        domains: cluster.domains,
      },
      ledger,
    );
    await new Promise((r) => setTimeout(r, 3_000));
    // A slow client in the middle of DATA on ingress 0 when it gets SIGTERM.
    const { dialog } = await SmtpDialog.open(cluster.ingress[0]!.directPort);
    await dialog.send('EHLO slow.chaos.test');
    expect(await dialog.send('MAIL FROM:<slow@client.chaos.test>')).toMatch(/^250 /);
    expect(await dialog.send(`RCPT TO:<slow@${cluster.domains[0]}>`)).toMatch(/^250 /);
    expect(await dialog.send('DATA')).toMatch(/^354 /);
    dialog.write('X-Chaos-Seq: 99999\r\nSubject: slow\r\n\r\nthe first half, ');
    const draining = cluster.drain('ingress', 0);
    await new Promise((r) => setTimeout(r, 2_000));
    dialog.write('the second half\r\n.\r\n');
    const slowReply = await dialog.reply();
    dialog.close();
    const drained = await draining;
    await load;
    await cluster.resume('ingress', 0);
    ledger.record(99_999, [`slow@${cluster.domains[0]}`]).accepted.push(slowReply.trim());
    const { queue, report } = await settle(ledger);
    console.log(
      `ingress drain: exit ${drained.code} after ${drained.elapsedMs} ms; ${report.accepted}/${report.sent} given a 250, ` +
        `${report.delivered} delivered; refusals ${JSON.stringify(report.refusals)}; ${report.unknownOutcomes} unknown`,
    );
    expect(slowReply).toMatch(/^250 /); // the open transaction was finished
    expect(drained.code).toBe(0);
    expect(drained.elapsedMs).toBeGreaterThan(2_000); // it waited for that session
    expect(drained.elapsedMs).toBeLessThan(DRAIN_TIMEOUT_MS + 5_000);
    expect(report.lost).toEqual([]);
    expect(report.accepted).toBe(401);
    expect(report.delivered).toBe(401);
    for (const r of report.refusals) expect(r.reply).toMatch(/^(421 |no connection)/);
    expect(queue).toMatchObject({ pending: 0, failed: 0 });
  }, 180_000);

  it('drains an egress process with deliveries in flight: the other finishes them', async () => {
    const sink = cluster.sinks[0]!;
    sink.setFaults([{ stage: 'data-end', action: { stallMs: 1_500 } }]);
    const before = sink.messages.length;
    const ledger = new Ledger();
    await runLoad(
      {
        host: cluster.smtp.host,
        port: cluster.smtp.port,
        messages: 100,
        firstSeq: 10_000,
        ratePerSecond: 50,
        clients: 8,
        domains: cluster.domains,
      },
      ledger,
    );
    const target = chaosTarget(cluster);
    let active = 0;
    for (let i = 0; i < 50 && active === 0; i++) {
      active =
        (await queueState(target.redisUrl, target.prefix)).byQueue['deliveries']?.['active'] ?? 0;
      if (active === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(active).toBeGreaterThan(0);
    const drained = await cluster.drain('egress', 0);
    sink.setFaults([]);
    const { queue, report } = await settle(ledger);
    await cluster.resume('egress', 0);
    console.log(
      `egress drain with ${active} deliveries active: exit ${drained.code} after ${drained.elapsedMs} ms; ` +
        `${report.delivered}/${report.sent} delivered, ${report.duplicates.length} duplicates`,
    );
    expect(drained.code).toBe(0);
    expect(report.lost).toEqual([]);
    expect(report.delivered).toBe(100);
    expect(sink.messages.length - before).toBeGreaterThanOrEqual(100);
    expect(queue).toMatchObject({ pending: 0, failed: 0 });
  }, 180_000);
});
