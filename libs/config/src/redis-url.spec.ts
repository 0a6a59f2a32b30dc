import { describe, expect, it } from 'vitest';
import { loadConfig } from './load-config.js';
import { parseClusterUrl, parseSentinelUrl, redisTarget } from './redis-url.js';

describe('redis.url', () => {
  it('leaves a server URL to ioredis', () => {
    expect(redisTarget('rediss://u:p@redis.example.net:6380/2')).toEqual({
      kind: 'server',
      url: 'rediss://u:p@redis.example.net:6380/2',
    });
  });

  it('reads a Sentinel URL: the sentinels, the master name, the credentials, db and TLS', () => {
    expect(
      redisTarget(
        'rediss+sentinel://petrel:s%40cret@10.0.0.1:26379,[::1]:26380,sentinel-2.example.net:26381/mail-primary?db=3&sentinelPassword=watch',
      ),
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '::1', port: 26380 },
        { host: 'sentinel-2.example.net', port: 26381 },
      ],
      name: 'mail-primary',
      username: 'petrel',
      password: 's@cret',
      sentinelPassword: 'watch',
      db: 3,
      tls: true,
    });
    expect(redisTarget('redis+sentinel://:pw@127.0.0.1:26379/m')).toEqual({
      kind: 'sentinel',
      sentinels: [{ host: '127.0.0.1', port: 26379 }],
      name: 'm',
      password: 'pw',
      tls: false,
    });
  });

  it.each([
    ['redis+sentinel://127.0.0.1:26379', 'a host:port list and a master name'],
    ['redis+sentinel://127.0.0.1/m', '"127.0.0.1" is not host:port'],
    ['redis+sentinel://127.0.0.1:26379,:1/m', '":1" is not host:port'],
    ['redis+sentinel://127.0.0.1:99999/m', '"127.0.0.1:99999" is not host:port'],
    [
      'redis+sentinel://127.0.0.1:26379/m?role=slave',
      'unknown parameter "role" (db, sentinelPassword)',
    ],
    ['redis+sentinel://127.0.0.1:26379/m?db=x', 'db must be a number, got "x"'],
  ])('refuses %s: %s', (url, problem) => {
    expect(parseSentinelUrl(url)).toEqual({ problem });
    expect(() => redisTarget(url)).toThrow(`redis.url: ${problem}`);
  });

  it('reads a Cluster URL: the seed nodes, the credentials and TLS', () => {
    expect(redisTarget('rediss+cluster://petrel:s%40cret@10.0.0.1:7000,[::1]:7001/')).toEqual({
      kind: 'cluster',
      seeds: [
        { host: '10.0.0.1', port: 7000 },
        { host: '::1', port: 7001 },
      ],
      username: 'petrel',
      password: 's@cret',
      tls: true,
    });
    expect(redisTarget('redis+cluster://127.0.0.1:7000')).toEqual({
      kind: 'cluster',
      seeds: [{ host: '127.0.0.1', port: 7000 }],
      tls: false,
    });
  });

  it.each([
    ['redis+cluster://127.0.0.1:7000/0', 'a host:port list, and nothing after it'],
    ['redis+cluster://127.0.0.1:7000?db=1', 'a host:port list, and nothing after it'],
    ['redis+cluster://127.0.0.1/', '"127.0.0.1" is not host:port'],
  ])('refuses the Cluster URL %s: %s', (url, problem) => {
    expect(parseClusterUrl(url)).toEqual({ problem });
    expect(() => redisTarget(url)).toThrow(`redis.url: ${problem}`);
  });

  it('refuses a bad Cluster URL in the configuration with the form', () => {
    expect(() =>
      loadConfig({ env: { PETREL_REDIS__URL: 'redis+cluster://:pw@h/' }, file: null }),
    ).toThrow(
      'expected redis+cluster://host:port[,host:port...], got "redis+cluster://:***@h/" ("h" is not host:port)',
    );
  });

  it('refuses, on a Cluster URL, a prefix without a hash tag', () => {
    const env = { PETREL_REDIS__URL: 'redis+cluster://127.0.0.1:7000' };
    expect(() =>
      loadConfig({ env: { ...env, PETREL_REDIS__PREFIX: 'petrel' }, file: null }),
    ).toThrow('redis.prefix: "petrel" has no hash tag ({name}), which Redis Cluster needs');
    expect(() =>
      loadConfig({ env: { ...env, PETREL_REDIS__PREFIX: '"{}x"' }, file: null }),
    ).toThrow('has no hash tag');
    expect(loadConfig({ env, file: null }).redis.prefix).toBe('{petrel}');
  });

  it('is refused by the configuration with the form and the problem, the password hidden', () => {
    let message = '';
    try {
      loadConfig({
        env: { PETREL_REDIS__URL: 'redis+sentinel://:hunter2@127.0.0.1/m' },
        file: null,
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(
      'expected redis+sentinel://host:port[,host:port...]/master-name, got "redis+sentinel://:***@127.0.0.1/m" ("127.0.0.1" is not host:port)',
    );
    expect(message).not.toContain('hunter2');
  });

  it('is accepted by the configuration', () => {
    const config = loadConfig({
      env: { PETREL_REDIS__URL: 'redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/petrel' },
      file: null,
    });
    expect(config.redis.url).toBe('redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/petrel');
  });
});
