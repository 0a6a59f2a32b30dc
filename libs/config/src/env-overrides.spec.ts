import { describe, expect, it } from 'vitest';
import { applyOverrides, readEnvOverrides } from './env-overrides.js';
import { fileSchema } from './file-schema.js';
import { keyTree } from './key-tree.js';

const tree = keyTree(fileSchema);
const read = (env: Record<string, string>) => readEnvOverrides(env, tree);

describe('readEnvOverrides', () => {
  it('maps each variable to its key path and parses its value as YAML', () => {
    const { overrides, problems } = read({
      PETREL_REDIS__URL: 'redis://10.0.0.5:6379/2',
      PETREL_INGRESS__MAX_MESSAGE_SIZE: '1000',
      PETREL_INGRESS__EXPN__ENABLED: 'true',
      PETREL_INGRESS__TRUSTED_NETWORKS: '[10.0.0.0/8, "192.168.0.0/16"]',
      PETREL_INGRESS__TIMEOUTS__COMMAND: '1m',
      PETREL_LOG: '{level: debug}',
      PETREL_INGRESS__TLS: '',
    });
    expect(problems).toEqual([]);
    expect(overrides).toEqual([
      { variable: 'PETREL_LOG', path: ['log'], value: { level: 'debug' } },
      {
        variable: 'PETREL_INGRESS__MAX_MESSAGE_SIZE',
        path: ['ingress', 'maxMessageSize'],
        value: 1000,
      },
      { variable: 'PETREL_INGRESS__TLS', path: ['ingress', 'tls'], value: null },
      {
        variable: 'PETREL_INGRESS__TRUSTED_NETWORKS',
        path: ['ingress', 'trustedNetworks'],
        value: ['10.0.0.0/8', '192.168.0.0/16'],
      },
      { variable: 'PETREL_REDIS__URL', path: ['redis', 'url'], value: 'redis://10.0.0.5:6379/2' },
      {
        variable: 'PETREL_INGRESS__EXPN__ENABLED',
        path: ['ingress', 'expn', 'enabled'],
        value: true,
      },
      {
        variable: 'PETREL_INGRESS__TIMEOUTS__COMMAND',
        path: ['ingress', 'timeouts', 'command'],
        value: '1m',
      },
    ]);
  });

  it('ignores other variables, the reserved ones and Kubernetes service links', () => {
    expect(
      read({
        HOME: '/root',
        petrel_redis__url: 'x',
        PETREL_CONFIG: '/etc/petrel/petrel.yaml',
        PETREL_LOCAL_REDIS_PORT: '6380',
        PETREL_BENCH_PINNED: 'taskset -c 0',
        PETREL_ADMIN_ADDRESS: '127.0.0.1:50052',
        PETREL_ADMIN_TOKEN_FILE: '/run/secrets/petrel-admin-token',
        PETREL_INGRESS_SERVICE_HOST: '10.96.0.12',
        PETREL_INGRESS_PORT: 'tcp://10.96.0.12:25',
      }),
    ).toEqual({ overrides: [], problems: [] });
  });

  it('takes text that is not YAML as a string, unless it looks like a collection', () => {
    expect(read({ PETREL_INGRESS__HOSTNAME: '*relay' }).overrides[0]?.value).toBe('*relay');
    expect(read({ PETREL_INGRESS__RELAY_DOMAINS: '[a.example' }).problems).toEqual([
      expect.stringMatching(/^PETREL_INGRESS__RELAY_DOMAINS: not a YAML value \(.+\)$/),
    ]);
  });

  it('names the key meant by a variable that names none', () => {
    expect(
      read({
        PETREL_INGRESS__MAX_MESAGE_SIZE: '1',
        PETREL_INGRESS_MAX_MESSAGE_SIZE: '1',
        PETREL_REDIS__URI: 'redis://x',
        PETREL_NOTHING_LIKE_IT: '1',
      }).problems,
    ).toEqual([
      'PETREL_INGRESS_MAX_MESSAGE_SIZE: names no configuration key (did you mean PETREL_INGRESS__MAX_MESSAGE_SIZE?)',
      'PETREL_INGRESS__MAX_MESAGE_SIZE: names no configuration key (did you mean PETREL_INGRESS__MAX_MESSAGE_SIZE?)',
      'PETREL_NOTHING_LIKE_IT: names no configuration key',
      'PETREL_REDIS__URI: names no configuration key (did you mean PETREL_REDIS__URL?)',
    ]);
  });

  it('says that lists, maps and values are set whole', () => {
    expect(
      read({
        PETREL_INGRESS__LISTENERS__0__PORT: '25',
        PETREL_ROUTING__TRANSPORTS__EXAMPLE_TEST: 'smtp:[127.0.0.1]:2626',
        PETREL_REDIS__URL__HOST: 'x',
      }).problems,
    ).toEqual([
      'PETREL_INGRESS__LISTENERS__0__PORT: names no configuration key; ingress.listeners is a list, set whole with PETREL_INGRESS__LISTENERS',
      'PETREL_REDIS__URL__HOST: names no configuration key; redis.url is a single value, set whole with PETREL_REDIS__URL',
      'PETREL_ROUTING__TRANSPORTS__EXAMPLE_TEST: names no configuration key; routing.transports is a mapping of names, set whole with PETREL_ROUTING__TRANSPORTS',
    ]);
  });

  it('says what replaced a retired variable', () => {
    expect(read({ PETREL_LISTEN: '0.0.0.0:25' }).problems).toEqual([
      "PETREL_LISTEN: no longer read; use PETREL_INGRESS__LISTENERS='[{host: 127.0.0.1, port: 2525}]'",
    ]);
  });
});

describe('applyOverrides', () => {
  it('sets values at their paths, shallow before deep, without changing the input', () => {
    const raw = {
      ingress: { hostname: 'a.example', timeouts: { data: '1m' } },
      log: { level: 'warn' },
    };
    const { overrides } = read({
      PETREL_INGRESS__TIMEOUTS: '{command: 10s}',
      PETREL_INGRESS__TIMEOUTS__DATA: '20s',
      PETREL_INGRESS__TLS__CERT: '/tls/cert.pem',
    });
    expect(applyOverrides(raw, overrides)).toEqual({
      ingress: {
        hostname: 'a.example',
        timeouts: { command: '10s', data: '20s' },
        tls: { cert: '/tls/cert.pem' },
      },
      log: { level: 'warn' },
    });
    expect(raw.ingress.timeouts).toEqual({ data: '1m' });
  });

  it('starts a mapping where the file has none', () => {
    const { overrides } = read({ PETREL_INGRESS__TLS__KEY: '/tls/key.pem' });
    expect(applyOverrides({ ingress: { tls: null } }, overrides)).toEqual({
      ingress: { tls: { key: '/tls/key.pem' } },
    });
    expect(applyOverrides(null, overrides)).toEqual({ ingress: { tls: { key: '/tls/key.pem' } } });
  });
});
