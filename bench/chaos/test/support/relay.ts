// The relay as three processes (routing, egress, ingress) on one Redis URL
// given by the test (Sentinel, Cluster), in front of one sink serving
// d0.test: what the failover specs send through. Per-client limits are off
// (the load comes from one address), retries are quick.

import { createConnection } from 'node:net';
import { eventually, freePort, spawnService, type TestSink } from '@petrel/testing';
import type { Ledger } from '../../src/ledger.js';

const SEQ = /^X-Chaos-Seq: (\d+)\r?$/im;

/** Starts the three services with `env` added; resolves with the SMTP port once ingress answers. */
export async function startRelay(
  sink: TestSink,
  hostname: string,
  env: Record<string, string>,
): Promise<number> {
  const smtpPort = await freePort();
  const all = {
    PETREL_INGRESS__HOSTNAME: hostname,
    PETREL_INGRESS__LISTENERS: `[{host: 127.0.0.1, port: ${smtpPort}}]`,
    PETREL_INGRESS__RELAY_DOMAINS: '[d0.test]',
    PETREL_INGRESS__LIMITS: '{connectionsPerClient: 0, messagesPerClientPerMinute: 0}',
    PETREL_ROUTING__TRANSPORTS: `{d0.test: 'smtp:[127.0.0.1]:${sink.port}'}`,
    PETREL_ROUTING__DNS: `{servers: ['127.0.0.1:${await freePort()}'], timeout: 200ms}`,
    PETREL_ROUTING__GRPC__PORT: '0',
    PETREL_ADMIN__PORT: '0',
    PETREL_EGRESS__TLS: 'none',
    PETREL_EGRESS__RETRY: '{schedule: [1s, 2s]}',
    PETREL_METRICS__PORT: '0',
    PETREL_LOG__LEVEL: 'warn',
    ...env,
  };
  const services = ['routing', 'egress', 'ingress'].map((name) => spawnService(name, all));
  await eventually(async () => {
    for (const s of services) if (s.child.exitCode !== null) throw new Error(s.stderr());
    await new Promise<void>((resolve, reject) => {
      const socket = createConnection(smtpPort, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
    return true;
  }, 30_000);
  return smtpPort;
}

/** Enters every message the sink received into the ledger (by its X-Chaos-Seq). */
export function ledgerDeliveries(sink: TestSink, ledger: Ledger): void {
  for (const m of sink.messages) {
    const seq = SEQ.exec(m.body.toString('latin1').split('\r\n\r\n')[0] ?? '')?.[1];
    if (seq !== undefined)
      ledger.delivered({ seq: Number(seq), recipients: m.rcptTo, sink: 0, at: m.receivedAt });
  }
}
