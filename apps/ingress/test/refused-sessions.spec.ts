// A connection refused before its greeting (421 for a per-client connection
// limit, or because Redis is unreachable) is released once the client goes:
// it leaves the active-session gauge, frees its socket, and does not hold a
// drain for its whole grace period.
import { startRedis, type RedisHandle } from '@petrel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ingress } from '../src/create-ingress.js';
import { eventually, ingressConfig, startIngress } from './support/ingress-harness.js';
import { RawSmtp } from './support/raw-smtp.js';

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

async function activeSessions(ingress: Ingress): Promise<number> {
  const text = await (await fetch(`${ingress.health!.url}/metrics`)).text();
  return Number(/^petrel_ingress_sessions_active\{[^}]*\} (\S+)$/m.exec(text)?.[1] ?? 0);
}

describe('a connection refused before the greeting', () => {
  it('over the per-client connection limit: released when the client goes, and a drain is quick', async () => {
    const { ingress, port } = await startIngress(
      ingressConfig(redis.url, (x) => {
        x.ingress.limits.connectionsPerClient = 1;
        x.ingress.drainTimeoutMs = 10_000;
      }),
    );
    try {
      const first = await RawSmtp.open(port);
      expect(await first.reply()).toMatch(/^220 /);
      const refused = await RawSmtp.open(port);
      expect(await refused.reply()).toMatch(/^421 4\.7\.0 Too many connections/);
      expect(await refused.waitClosed()).toBe(true);
      first.close();
      await eventually(async () => (await activeSessions(ingress)) === 0, 'no session active');
      const started = Date.now();
      await ingress.drain();
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await ingress.stop();
    }
  });

  it('while Redis is unreachable (421 4.3.0): released when the client goes', async () => {
    const own = await startRedis({ own: true });
    const { ingress, port } = await startIngress(
      ingressConfig(own.url, (x) => (x.ingress.drainTimeoutMs = 10_000)),
    );
    try {
      await own.kill!();
      const refused = await RawSmtp.open(port);
      expect(await refused.reply()).toBe(
        '421 4.3.0 Service temporarily unavailable, try again later',
      );
      expect(await refused.waitClosed()).toBe(true);
      await eventually(async () => (await activeSessions(ingress)) === 0, 'no session active');
      const started = Date.now();
      await ingress.drain();
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await ingress.stop();
      await own.stop();
    }
  });
});
