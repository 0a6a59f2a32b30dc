import { startRedis, type RedisHandle } from '@petrel/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect, disconnectAll } from '../test/support/redis.js';
import { whenReady } from './redis-client.js';
import {
  durabilityProblems,
  failoverRisks,
  inspectRedis,
  parseInfo,
  type RedisFacts,
} from './redis-facts.js';

const fine: RedisFacts = {
  version: '7.0.15',
  appendonly: true,
  appendfsync: 'always',
  maxmemoryPolicy: 'noeviction',
  waitaof: false,
  role: 'master',
  connectedReplicas: 0,
  configError: null,
};

describe('failoverRisks', () => {
  it('names durability replicas waiting for fewer replicas than are connected', () => {
    expect(failoverRisks({ ...fine, connectedReplicas: 2 }, 'replicas', 1)).toEqual([
      '2 replicas are connected and durability replicas waits for 1: a failover to a replica that was not waited for can lose acknowledged mail; set redis.replicas to 2',
    ]);
    expect(failoverRisks({ ...fine, connectedReplicas: 2 }, 'replicas', 2)).toEqual([]);
    expect(failoverRisks({ ...fine, connectedReplicas: 2 }, 'fsync', 0)).toEqual([]);
  });
});

describe('durabilityProblems', () => {
  it('finds nothing wrong with AOF, fsync always and noeviction', () => {
    expect(durabilityProblems(fine, 'none', 0)).toEqual([]);
    expect(durabilityProblems(fine, 'fsync', 0)).toEqual([]);
    expect(durabilityProblems({ ...fine, connectedReplicas: 2 }, 'replicas', 2)).toEqual([]);
  });

  it('refuses an evicting maxmemory-policy whatever the durability', () => {
    for (const durability of ['none', 'fsync', 'replicas'] as const) {
      expect(
        durabilityProblems(
          { ...fine, maxmemoryPolicy: 'allkeys-lru', connectedReplicas: 1 },
          durability,
          1,
        ),
      ).toEqual([
        'maxmemory-policy is allkeys-lru: Redis may evict queued mail; set maxmemory-policy noeviction',
      ]);
    }
  });

  it('refuses a replica as the target', () => {
    expect(durabilityProblems({ ...fine, role: 'slave' }, 'none', 0)).toEqual([
      'role is slave: Petrel must write to the primary; point redis.url at the primary',
    ]);
  });

  it('fsync needs appendonly yes', () => {
    const problems = durabilityProblems({ ...fine, appendonly: false }, 'fsync', 0);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^appendonly is no: .*; set appendonly yes$/);
    expect(
      durabilityProblems({ ...fine, appendonly: false, appendfsync: 'everysec' }, 'none', 0),
    ).toEqual([]);
  });

  it('fsync needs appendfsync always before Redis 7.2, not with WAITAOF', () => {
    const problems = durabilityProblems({ ...fine, appendfsync: 'everysec' }, 'fsync', 0);
    expect(problems).toEqual([
      'appendfsync is everysec: Redis 7.0.15 has no WAITAOF (7.2+), so a message could be acknowledged before it is on disk; set appendfsync always (or use Redis 7.2 or later)',
    ]);
    expect(
      durabilityProblems(
        { ...fine, version: '7.2.4', waitaof: true, appendfsync: 'everysec' },
        'fsync',
        0,
      ),
    ).toEqual([]);
  });

  it('treats an unreadable appendfsync as unknown, not as fine', () => {
    const facts = { ...fine, appendfsync: 'unknown', configError: "ERR unknown command 'CONFIG'" };
    const problems = durabilityProblems(facts, 'fsync', 0);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(
      "appendfsync is unknown (CONFIG GET failed: ERR unknown command 'CONFIG')",
    );
    expect(problems[0]).toContain('set appendfsync always');
    expect(durabilityProblems({ ...facts, waitaof: true }, 'fsync', 0)).toEqual([]);
  });

  it('replicas also needs what fsync needs, and enough online replicas', () => {
    expect(durabilityProblems({ ...fine, connectedReplicas: 1 }, 'replicas', 2)).toEqual([
      'connected replicas is 1: durability replicas waits for 2; attach 2 online replicas or lower redis.replicas',
    ]);
    expect(durabilityProblems(fine, 'replicas', 0)).toEqual([
      'redis.replicas is 0: durability replicas needs at least 1',
    ]);
    expect(
      durabilityProblems({ ...fine, appendfsync: 'no', connectedReplicas: 1 }, 'replicas', 1)[0],
    ).toMatch(/^appendfsync is no: /);
  });

  it('lists every problem at once', () => {
    const problems = durabilityProblems(
      { ...fine, appendonly: false, appendfsync: 'everysec', maxmemoryPolicy: 'volatile-lru' },
      'replicas',
      1,
    );
    expect(problems.map((p) => p.split(' is ')[0])).toEqual([
      'maxmemory-policy',
      'appendonly',
      'appendfsync',
      'connected replicas',
    ]);
  });
});

describe('parseInfo', () => {
  it('reads fields and skips section headers', () => {
    const info = parseInfo(
      '# Server\r\nredis_version:7.0.15\r\n\r\n# Replication\r\nrole:master\r\nslave0:ip=127.0.0.1,port=1,state=online\r\n',
    );
    expect(info.get('redis_version')).toBe('7.0.15');
    expect(info.get('role')).toBe('master');
    expect(info.get('slave0')).toBe('ip=127.0.0.1,port=1,state=online');
    expect(info.has('# Server')).toBe(false);
  });
});

describe('inspectRedis (a real redis-server)', () => {
  const handles: RedisHandle[] = [];
  afterEach(() => disconnectAll());
  afterAll(async () => {
    for (const handle of handles) await handle.stop();
  });

  async function facts(options: Parameters<typeof startRedis>[0]): Promise<RedisFacts> {
    const handle = await startRedis(options);
    handles.push(handle);
    const redis = connect(handle.url);
    await whenReady(redis, 5_000);
    return inspectRedis(redis);
  }

  it('reads AOF, fsync, eviction, role and replicas', async () => {
    const found = await facts({ own: true });
    expect(found).toMatchObject({
      appendonly: true,
      appendfsync: 'always',
      maxmemoryPolicy: 'noeviction',
      role: 'master',
      connectedReplicas: 0,
      configError: null,
    });
    expect(found.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(found.waitaof).toBe(/^(7\.[2-9]|[89]\.|\d\d)/.test(found.version));
  });

  it('sees everysec, no AOF and allkeys-lru', async () => {
    expect(
      await facts({ appendonly: false, appendfsync: 'everysec', maxmemoryPolicy: 'allkeys-lru' }),
    ).toMatchObject({
      appendonly: false,
      appendfsync: 'everysec',
      maxmemoryPolicy: 'allkeys-lru',
    });
  });

  it('says so when CONFIG is renamed away (managed Redis)', async () => {
    const found = await facts({ extraArgs: ['--rename-command', 'CONFIG', ''] });
    expect(found.appendfsync).toBe('unknown');
    expect(found.configError).toMatch(/unknown command/i);
    expect(found.maxmemoryPolicy).toBe('noeviction');
    expect(durabilityProblems(found, 'fsync', 0).join('\n')).toMatch(
      found.waitaof ? /^$/ : /appendfsync is unknown \(CONFIG GET failed: /,
    );
  });
});
