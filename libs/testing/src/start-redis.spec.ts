import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRedis } from './start-redis.js';

describe('startRedis', () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env['REDIS_URL'];
  });
  afterEach(() => {
    if (saved === undefined) delete process.env['REDIS_URL'];
    else process.env['REDIS_URL'] = saved;
  });

  it('uses REDIS_URL when set, and stopping it does nothing', async () => {
    process.env['REDIS_URL'] = 'redis://redis.invalid:6379';
    const handle = await startRedis();
    expect(handle).toMatchObject({ kind: 'env', url: 'redis://redis.invalid:6379' });
    expect(handle.kill).toBeUndefined();
    await handle.stop();
  });

  it('skips REDIS_URL when the test must own the process, or asks for a configuration', async () => {
    process.env['REDIS_URL'] = 'redis://redis.invalid:6379';
    for (const options of [{ own: true }, { appendfsync: 'everysec' as const }]) {
      const handle = await startRedis(options);
      try {
        expect(handle.kind).not.toBe('env');
        expect(handle.url).not.toContain('redis.invalid');
      } finally {
        await handle.stop();
      }
    }
  });

  it('spawns redis-server when there is neither REDIS_URL nor Docker', async () => {
    delete process.env['REDIS_URL'];
    const handle = await startRedis({ own: true });
    try {
      expect(handle.kind).toBe('process');
      expect(typeof handle.kill).toBe('function');
      expect(typeof handle.restart).toBe('function');
    } finally {
      await handle.stop();
    }
  });

  it('with PETREL_TEST_REDIS=container, refuses to fall back when no Docker API answers', async () => {
    const before = { ...process.env };
    delete process.env['REDIS_URL'];
    process.env['PETREL_TEST_REDIS'] = 'container';
    process.env['DOCKER_HOST'] = 'unix:///nonexistent/petrel-docker.sock';
    try {
      await expect(startRedis()).rejects.toThrow(
        /PETREL_TEST_REDIS=container, but no Docker API answers/,
      );
      const owned = await startRedis({ own: true });
      expect(owned.kind).toBe('process');
      await owned.stop();
    } finally {
      for (const name of ['PETREL_TEST_REDIS', 'DOCKER_HOST']) {
        if (before[name] === undefined) delete process.env[name];
        else process.env[name] = before[name];
      }
    }
  });
});
