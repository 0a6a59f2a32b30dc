import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from './free-port.js';
import { uniquePrefix } from './unique-prefix.js';

describe('freePort', () => {
  it('returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port }, resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('uniquePrefix', () => {
  it('is a hash tag carrying the name, fresh on every call', () => {
    const a = uniquePrefix('Store: binary body!');
    const b = uniquePrefix('Store: binary body!');
    expect(a).toMatch(/^\{t-store-binary-body-[0-9a-f]{12}\}$/);
    expect(a).not.toBe(b);
    expect(uniquePrefix('')).toMatch(/^\{t-[0-9a-f]{12}\}$/);
    expect(uniquePrefix('x'.repeat(100)).length).toBeLessThan(45);
  });
});
