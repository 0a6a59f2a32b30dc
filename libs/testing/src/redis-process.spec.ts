import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { RedisHandle } from './redis-handle.js';
import { spawnRedis } from './redis-process.js';

const handles: RedisHandle[] = [];
const clients: Redis[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  for (const handle of handles.splice(0)) await handle.stop();
});

async function start(options: Parameters<typeof spawnRedis>[0] = {}): Promise<RedisHandle> {
  const handle = await spawnRedis(options);
  handles.push(handle);
  return handle;
}

function client(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

/** A process that exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

async function config(redis: Redis, name: string): Promise<string | undefined> {
  const reply = (await redis.call('CONFIG', 'GET', name)) as string[];
  return reply[1];
}

describe('spawnRedis', () => {
  it('runs redis-server on 127.0.0.1 with AOF, fsync always, no snapshots and noeviction', async () => {
    const handle = await start();
    expect(handle.kind).toBe('process');
    expect(handle.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(handle.pid).toBeGreaterThan(0);
    const redis = client(handle.url);
    await redis.connect();
    expect(await redis.ping()).toBe('PONG');
    expect(await config(redis, 'appendonly')).toBe('yes');
    expect(await config(redis, 'appendfsync')).toBe('always');
    expect(await config(redis, 'save')).toBe('');
    expect(await config(redis, 'maxmemory-policy')).toBe('noeviction');
    expect(await config(redis, 'bind')).toBe('127.0.0.1');
    expect(await config(redis, 'dir')).toBe(handle.dir);
  });

  it('applies the options asked for', async () => {
    const handle = await start({
      appendfsync: 'everysec',
      maxmemoryPolicy: 'allkeys-lru',
      extraArgs: ['--maxmemory', '64mb'],
    });
    const redis = client(handle.url);
    await redis.connect();
    expect(await config(redis, 'appendfsync')).toBe('everysec');
    expect(await config(redis, 'maxmemory-policy')).toBe('allkeys-lru');
    expect(await config(redis, 'maxmemory')).toBe(String(64 * 1024 * 1024));
  });

  it('kill() is a crash and restart() replays the AOF on the same port', async () => {
    const handle = await start();
    const redis = client(handle.url);
    await redis.connect();
    await redis.set('kept', 'across a crash');
    const firstPid = handle.pid!;
    redis.disconnect();

    await handle.kill!();
    expect(alive(firstPid)).toBe(false);
    const refused = client(handle.url);
    await expect(refused.connect()).rejects.toThrow();

    await handle.restart!();
    expect(handle.pid).not.toBe(firstPid);
    const again = client(handle.url);
    await again.connect();
    expect(await again.get('kept')).toBe('across a crash');
  });

  it('restart() refuses while the server still runs', async () => {
    const handle = await start();
    await expect(handle.restart!()).rejects.toThrow(/kill\(\) it first/);
  });

  it('stop() ends the server and removes its directory, and may be called twice', async () => {
    const handle = await start();
    const pid = handle.pid!;
    await handle.stop();
    await handle.stop();
    expect(alive(pid)).toBe(false);
    expect(existsSync(handle.dir!)).toBe(false);
  });

  it('says how to install redis-server when there is none', async () => {
    const attempt = spawnRedis({ binary: '/nonexistent/redis-server' });
    await expect(attempt).rejects.toThrow(/apt-get install -y redis-server/);
    await expect(attempt).rejects.toThrow(/REDIS_URL/);
  });

  it('reports the server log when redis-server refuses its arguments', async () => {
    await expect(spawnRedis({ extraArgs: ['--no-such-option', 'x'] })).rejects.toThrow(
      /exited .*\n[\s\S]*no-such-option/i,
    );
  });
});

describe('a spawned server dies with the test process', () => {
  // A child Node process runs the harness from source (Node strips the types;
  // the hook maps the ESM `.js` specifiers to the `.ts` files).
  const source = fileURLToPath(new URL('./redis-process.ts', import.meta.url));
  const script = (then: string) => `
    import { registerHooks } from 'node:module';
    registerHooks({ resolve(spec, ctx, next) {
      try { return next(spec, ctx); } catch (err) {
        if (spec.startsWith('.') && spec.endsWith('.js')) return next(spec.slice(0, -3) + '.ts', ctx);
        throw err;
      }
    } });
    const { spawnRedis } = await import(${JSON.stringify(source)});
    const handle = await spawnRedis();
    process.stdout.write(JSON.stringify({ pid: handle.pid, dir: handle.dir }) + '\\n');
    ${then}
  `;

  async function runChild(
    then: string,
  ): Promise<{ pid: number; dir: string; child: ReturnType<typeof spawn> }> {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script(then)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const end = out.indexOf('\n');
        if (end >= 0) resolve(out.slice(0, end));
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code} before reporting`)));
    });
    const { pid, dir } = JSON.parse(line) as { pid: number; dir: string };
    return { pid, dir, child };
  }

  it('on a normal exit', async () => {
    const { pid, dir } = await runChild('process.exit(0);');
    expect(await until(() => !alive(pid), 3_000)).toBe(true);
    expect(await until(() => !existsSync(dir), 3_000)).toBe(true);
  });

  it('when the test process is SIGKILLed (the watchdog)', async () => {
    const { pid, dir, child } = await runChild('setInterval(() => undefined, 1000);');
    expect(alive(pid)).toBe(true);
    child.kill('SIGKILL');
    expect(await until(() => !alive(pid), 5_000)).toBe(true);
    expect(await until(() => !existsSync(dir), 2_000)).toBe(true);
  });
});
