import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import type { PetrelConfig } from './config-types.js';
import { defaultConfig, loadConfig, type LoadConfigOptions } from './load-config.js';

const FULL = new URL('../test/full.yaml', import.meta.url).pathname;

/** The problems of a configuration that must not load. */
function problems(options: LoadConfigOptions): readonly string[] {
  try {
    loadConfig({ env: {}, file: null, ...options });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration loaded');
}

const yaml = (text: string) => problems({ text, file: 'petrel.yaml' });
const env = (variables: Record<string, string>) => problems({ env: variables });

describe('defaults', () => {
  it('are the documented ones', () => {
    expect(defaultConfig()).toEqual({
      redis: {
        url: null,
        durability: 'fsync',
        replicas: 1,
        durabilityTimeoutMs: 1000,
        commandTimeoutMs: 2000,
        prefix: '{petrel}',
        shards: 1,
      },
      ingress: {
        hostname: hostname().toLowerCase(),
        listeners: [
          { host: '127.0.0.1', port: 2525, proxyProtocol: false, allowPlaintextAuth: false },
        ],
        trustedNetworks: ['127.0.0.0/8', '::1/128'],
        relayDomains: [],
        loadBalancers: [],
        maxMessageSize: 26_214_400,
        maxRecipients: 100,
        maxErrors: 20,
        maxReceivedHeaders: 100,
        timeouts: { commandMs: 300_000, dataMs: 300_000 },
        tls: null,
        auth: null,
        expn: { enabled: false },
        limits: {
          connectionsPerClient: 20,
          messagesPerClientPerMinute: 600,
          authFailuresPerClientPerHour: 10,
        },
        queue: { highWatermark: 100_000 },
        resolve: { address: null, timeoutMs: 250 },
        drainTimeoutMs: 30_000,
      },
      routing: {
        transports: {},
        lists: {},
        dns: { servers: [], timeoutMs: 5000 },
        sourceRoutes: 'strip',
        maxRecipientsPerDelivery: 100,
        concurrency: 64,
        lockDurationMs: 30_000,
        drainTimeoutMs: 30_000,
        grpc: { host: '127.0.0.1', port: 50051 },
      },
      egress: {
        retry: {
          scheduleMs: [300_000, 600_000, 1_200_000, 2_400_000, 3_960_000],
          maxLifetimeMs: 432_000_000,
        },
        tls: 'opportunistic',
        credentials: {},
        concurrency: 32,
        connectionsPerDestination: 20,
        connectionCache: { idleMs: 2000, maxMessages: 100 },
        lockDurationMs: 30_000,
        drainTimeoutMs: 30_000,
        timeouts: {
          connectMs: 30_000,
          greetingMs: 300_000,
          commandMs: 300_000,
          dataStartMs: 120_000,
          dataBlockMs: 180_000,
          dataEndMs: 600_000,
        },
      },
      metrics: { host: '127.0.0.1', port: 9464, destinations: [] },
      admin: { host: '127.0.0.1', port: 50052, tls: null, tokensFile: null },
      log: { level: 'info' },
    } satisfies PetrelConfig);
  });

  it('are what an empty file, an empty mapping and empty sections give', () => {
    const defaults = defaultConfig();
    expect(loadConfig({ env: {}, text: '' })).toEqual(defaults);
    expect(loadConfig({ env: {}, text: '# nothing set\n' })).toEqual(defaults);
    expect(loadConfig({ env: {}, text: '{}' })).toEqual(defaults);
    expect(loadConfig({ env: {}, text: 'redis: {}\ningress: {}\nrouting: {}\n' })).toEqual(
      defaults,
    );
  });

  it('are fresh objects on every load', () => {
    const first = defaultConfig();
    first.ingress.trustedNetworks.push('10.0.0.0/8');
    first.egress.retry.scheduleMs.length = 0;
    first.ingress.listeners[0]!.port = 25;
    const second = defaultConfig();
    expect(second.ingress.trustedNetworks).toEqual(['127.0.0.0/8', '::1/128']);
    expect(second.egress.retry.scheduleMs).toHaveLength(5);
    expect(second.ingress.listeners[0]?.port).toBe(2525);
  });
});

describe('a full file', () => {
  const expected: PetrelConfig = {
    redis: {
      url: 'rediss://petrel:secret@redis.example.net:6380/1',
      durability: 'replicas',
      replicas: 2,
      durabilityTimeoutMs: 250,
      commandTimeoutMs: 1500,
      prefix: '{relay}',
      shards: 2,
    },
    ingress: {
      hostname: 'mx1.example.net',
      listeners: [
        { host: '0.0.0.0', port: 25, proxyProtocol: true, allowPlaintextAuth: false },
        { host: '::', port: 587, proxyProtocol: false, allowPlaintextAuth: true },
      ],
      trustedNetworks: ['10.0.0.0/8', '192.0.2.7/32', '2001:db8::/32'],
      relayDomains: ['example.com', '.example.org'],
      loadBalancers: ['172.16.0.0/12'],
      maxMessageSize: 10_485_760,
      maxRecipients: 1000,
      maxErrors: 5,
      maxReceivedHeaders: 50,
      timeouts: { commandMs: 60_000, dataMs: 600_000 },
      tls: { cert: '/etc/petrel/tls/tls.crt', key: '/etc/petrel/tls/tls.key' },
      auth: { usersFile: '/etc/petrel/users' },
      expn: { enabled: true },
      limits: {
        connectionsPerClient: 5,
        messagesPerClientPerMinute: 60,
        authFailuresPerClientPerHour: 3,
      },
      queue: { highWatermark: 5000 },
      resolve: { address: 'petrel-routing:50051', timeoutMs: 100 },
      drainTimeoutMs: 90_000,
    },
    routing: {
      transports: {
        'example.test': {
          action: { kind: 'smtp', host: '127.0.0.1', port: 2626, mx: false },
          tls: null,
          auth: null,
          spec: 'smtp:[127.0.0.1]:2626',
        },
        '.example.net': {
          action: { kind: 'smtp', host: '192.0.2.25', port: 25, mx: false },
          tls: null,
          auth: null,
          spec: 'smtp:[192.0.2.25]',
        },
        '*': {
          action: { kind: 'smtp', host: 'smarthost.example.com', port: 587, mx: false },
          tls: 'required',
          auth: 'smarthost',
          spec: 'smtp:[smarthost.example.com]:587',
        },
        'blocked.example': {
          action: {
            kind: 'reject',
            code: 550,
            enhanced: '5.7.1',
            text: 'No mail for blocked.example',
          },
          tls: null,
          auth: null,
          spec: 'reject:550 5.7.1 No mail for blocked.example',
        },
      },
      lists: { 'staff@example.com': ['alice@example.com', 'Bob@example.org'] },
      dns: { servers: ['192.0.2.53', '[2001:db8::53]:5353'], timeoutMs: 2000 },
      sourceRoutes: 'honour',
      maxRecipientsPerDelivery: 50,
      concurrency: 4,
      lockDurationMs: 10_000,
      drainTimeoutMs: 20_000,
      grpc: { host: '0.0.0.0', port: 9470 },
    },
    egress: {
      retry: { scheduleMs: [60_000, 120_000, 240_000], maxLifetimeMs: 172_800_000 },
      tls: 'required',
      credentials: {
        smarthost: { username: 'petrel', passwordFile: '/etc/petrel/smarthost-password' },
      },
      concurrency: 8,
      connectionsPerDestination: 20,
      connectionCache: { idleMs: 2000, maxMessages: 100 },
      lockDurationMs: 60_000,
      drainTimeoutMs: 45_000,
      timeouts: {
        connectMs: 10_000,
        greetingMs: 300_000,
        commandMs: 300_000,
        dataStartMs: 120_000,
        dataBlockMs: 180_000,
        dataEndMs: 600_000,
      },
    },
    metrics: { host: '0.0.0.0', port: 9100, destinations: ['example.com'] },
    admin: {
      host: '0.0.0.0',
      port: 50053,
      tls: { cert: '/etc/petrel/admin.crt', key: '/etc/petrel/admin.key', clientCa: null },
      tokensFile: '/etc/petrel/admin-tokens',
    },
    log: { level: 'debug' },
  };

  it('sets every key, read from options.file', () => {
    expect(loadConfig({ env: {}, file: FULL })).toEqual(expected);
  });

  it('is found through PETREL_CONFIG', () => {
    expect(loadConfig({ env: { PETREL_CONFIG: FULL } })).toEqual(expected);
  });

  it('is ignored when options.file is null, and PETREL_CONFIG empty means no file', () => {
    expect(loadConfig({ env: { PETREL_CONFIG: FULL }, file: null })).toEqual(defaultConfig());
    expect(loadConfig({ env: { PETREL_CONFIG: '' } })).toEqual(defaultConfig());
  });

  it('changes nothing else when one section is given', () => {
    const config = loadConfig({ env: {}, text: 'ingress: { maxErrors: 3 }' });
    expect(config).toEqual({
      ...defaultConfig(),
      ingress: { ...defaultConfig().ingress, maxErrors: 3 },
    });
  });
});

describe('environment overrides', () => {
  it('replace values of the file, nested, with YAML numbers, booleans and lists', () => {
    const config = loadConfig({
      file: FULL,
      env: {
        PETREL_REDIS__URL: 'redis://127.0.0.1:6379',
        PETREL_REDIS__DURABILITY_TIMEOUT: '2s',
        PETREL_INGRESS__MAX_MESSAGE_SIZE: '1000',
        PETREL_INGRESS__EXPN__ENABLED: 'false',
        PETREL_INGRESS__TRUSTED_NETWORKS: '[10.0.0.0/8]',
        PETREL_INGRESS__LISTENERS: '[{host: 127.0.0.1, port: 0}]',
        PETREL_INGRESS__TIMEOUTS__DATA: '1m',
        PETREL_INGRESS__LIMITS__CONNECTIONS_PER_CLIENT: '7',
        PETREL_ROUTING__TRANSPORTS: '{example.test: "smtp:[127.0.0.1]:2727"}',
        PETREL_EGRESS__RETRY__SCHEDULE: '[1s, 2s]',
        PETREL_METRICS__PORT: '0',
        PETREL_LOG__LEVEL: 'trace',
      },
    });
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.redis.durabilityTimeoutMs).toBe(2000);
    expect(config.redis.durability).toBe('replicas');
    expect(config.ingress.maxMessageSize).toBe(1000);
    expect(config.ingress.expn.enabled).toBe(false);
    expect(config.ingress.trustedNetworks).toEqual(['10.0.0.0/8']);
    expect(config.ingress.listeners).toEqual([
      { host: '127.0.0.1', port: 0, proxyProtocol: false, allowPlaintextAuth: false },
    ]);
    expect(config.ingress.timeouts).toEqual({ commandMs: 60_000, dataMs: 60_000 });
    expect(config.ingress.limits.connectionsPerClient).toBe(7);
    expect(config.ingress.limits.messagesPerClientPerMinute).toBe(60);
    expect(config.routing.transports['example.test']?.spec).toBe('smtp:[127.0.0.1]:2727');
    expect(config.egress.retry.scheduleMs).toEqual([1000, 2000]);
    expect(config.metrics.port).toBe(0);
    expect(config.log.level).toBe('trace');
  });

  it('turn a client limit off with 0', () => {
    const config = loadConfig({
      env: {
        PETREL_INGRESS__LIMITS__CONNECTIONS_PER_CLIENT: '0',
        PETREL_INGRESS__LIMITS__MESSAGES_PER_CLIENT_PER_MINUTE: '0',
        PETREL_INGRESS__LIMITS__AUTH_FAILURES_PER_CLIENT_PER_HOUR: '0',
      },
    });
    expect(config.ingress.limits).toEqual({
      connectionsPerClient: 0,
      messagesPerClientPerMinute: 0,
      authFailuresPerClientPerHour: 0,
    });
  });

  it('apply without a file', () => {
    const config = loadConfig({
      env: { PETREL_INGRESS__TLS__CERT: 'c.pem', PETREL_INGRESS__TLS__KEY: 'k.pem' },
    });
    expect(config.ingress.tls).toEqual({ cert: 'c.pem', key: 'k.pem' });
  });

  it('set null with an empty value', () => {
    const config = loadConfig({
      file: FULL,
      env: { PETREL_REDIS__URL: '', PETREL_INGRESS__AUTH: '' },
    });
    expect(config.redis.url).toBeNull();
    expect(config.ingress.auth).toBeNull();
  });

  it('default to process.env', () => {
    const saved = process.env.PETREL_LOG__LEVEL;
    process.env.PETREL_LOG__LEVEL = 'warn';
    try {
      expect(loadConfig({ file: null }).log.level).toBe('warn');
    } finally {
      if (saved === undefined) delete process.env.PETREL_LOG__LEVEL;
      else process.env.PETREL_LOG__LEVEL = saved;
    }
  });

  it('name the variable when its value is wrong', () => {
    expect(
      env({
        PETREL_INGRESS__MAX_MESSAGE_SIZE: 'big',
        PETREL_INGRESS__TIMEOUTS: '{command: 5m, cmd: 1m}',
        PETREL_METRICS__PORT: '99999',
      }),
    ).toEqual([
      'ingress.maxMessageSize (from PETREL_INGRESS__MAX_MESSAGE_SIZE): expected an integer from 1 to 536870912, got "big" (Redis stores a string of at most 512 MiB)',
      'ingress.timeouts.cmd (from PETREL_INGRESS__TIMEOUTS): unknown key',
      'metrics.port (from PETREL_METRICS__PORT): expected an integer from 0 to 65535, got 99999',
    ]);
  });

  it('that name no key are errors, listed with the problems of the values', () => {
    expect(env({ PETREL_REDIS__URI: 'redis://x', PETREL_LOG__LEVEL: 'loud' })).toEqual([
      'PETREL_REDIS__URI: names no configuration key (did you mean PETREL_REDIS__URL?)',
      'log.level (from PETREL_LOG__LEVEL): expected one of fatal, error, warn, info, debug, trace, got "loud"',
    ]);
    expect(env({ PETREL_LISTEN: '0.0.0.0:25' })).toEqual([
      "PETREL_LISTEN: no longer read; use PETREL_INGRESS__LISTENERS='[{host: 127.0.0.1, port: 2525}]'",
    ]);
  });
});

describe('durations', () => {
  it('are read with units and arrive in milliseconds', () => {
    const config = loadConfig({
      env: {},
      text: `
redis: { durabilityTimeout: 1500ms, commandTimeout: 0.5s }
ingress: { timeouts: { command: 1h, data: 2m30s }, drainTimeout: 0s }
routing: { dns: { timeout: 750 } }
egress: { retry: { schedule: [30s], maxLifetime: 30d } }
`,
    });
    expect(config.redis).toMatchObject({ durabilityTimeoutMs: 1500, commandTimeoutMs: 500 });
    expect(config.ingress.timeouts).toEqual({ commandMs: 3_600_000, dataMs: 150_000 });
    expect(config.ingress.drainTimeoutMs).toBe(0);
    expect(config.routing.dns.timeoutMs).toBe(750);
    expect(config.egress.retry).toEqual({ scheduleMs: [30_000], maxLifetimeMs: 2_592_000_000 });
  });

  it('are refused when malformed, zero where zero means never, or longer than a timer', () => {
    expect(
      yaml(`
redis: { durabilityTimeout: 0, commandTimeout: 5 minutes }
ingress: { timeouts: { command: 25d, data: true }, drainTimeout: -1s }
egress: { retry: { schedule: [5m, 0s, 1µs], maxLifetime: 1000d } }
`),
    ).toEqual([
      'redis.durabilityTimeout: expected a duration of at least 1ms, got 0 (a bare number is milliseconds)',
      'redis.commandTimeout: expected a duration such as 250ms, 30s, 5m, 2h or 5d, got "5 minutes"',
      'ingress.timeouts.command: expected a duration of at most 24d20h31m23s647ms, got "25d" (the longest a timer can wait)',
      'ingress.timeouts.data: expected a duration such as 250ms, 30s, 5m, 2h or 5d, got true',
      'ingress.drainTimeout: expected a duration such as 250ms, 30s, 5m, 2h or 5d, got "-1s"',
      'egress.retry.schedule[1]: expected a duration of at least 1ms, got "0s"',
      'egress.retry.schedule[2]: expected a duration such as 250ms, 30s, 5m, 2h or 5d, got "1µs"',
    ]);
  });

  it('say when the key carries the services’ Ms suffix', () => {
    expect(yaml('ingress: { drainTimeoutMs: 30000, timeouts: { dataMs: 1 } }')).toEqual([
      'ingress.timeouts.dataMs: unknown key (did you mean data? durations are written with units, such as 30s)',
      'ingress.drainTimeoutMs: unknown key (did you mean drainTimeout? durations are written with units, such as 30s)',
    ]);
  });
});

describe('unknown keys', () => {
  it('are errors, with the key meant', () => {
    expect(
      yaml(`
redis: { urll: redis://x }
ingress:
  max_message_size: 1
  listeners: [{ host: 0.0.0.0, port: 25, proxy: true }]
maxRecipients: 200
whatever: 1
`),
    ).toEqual([
      'redis.urll: unknown key (did you mean url?)',
      'ingress.listeners[0].proxy: unknown key (did you mean proxyProtocol?)',
      'ingress.max_message_size: unknown key (did you mean maxMessageSize?)',
      'maxRecipients: unknown key (did you mean ingress.maxRecipients?)',
      'whatever: unknown key',
    ]);
  });
});

describe('values', () => {
  it('name the key and what was expected', () => {
    expect(
      yaml(`
redis:
  url: http://user:hunter2@redis.example.net
  durability: disk
  replicas: 0
  prefix: ''
ingress:
  hostname: relay_1.example.net
  listeners:
    - { host: 0.0.0.0, port: 70000 }
    - { port: '25', proxyProtocol: 'yes' }
  maxMessageSize: 1073741824
  maxRecipients: 50
  maxErrors: 0
  tls: { cert: /tls.crt }
  auth: /users
  limits: { connectionsPerClient: 1.5 }
  queue: []
routing:
  transports: { example.test: '', Example.COM: mx, example.com.: hold, a.test: 'smtp:192.0.2.1' }
  lists: { staff: [a@example.com], ops@example.com: [alice@example.com, 42, '<b@example.com>'] }
  dns: { servers: [192.0.2.53:99999, resolver.example.net, '::1:53'] }
  sourceRoutes: follow
egress: { tls: always }
metrics: { host: '', port: -1 }
log:
`),
    ).toEqual([
      'redis.url: expected a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL, or null for the Redis that npm start runs, got "http://user:***@redis.example.net"',
      'redis.durability: expected one of none, fsync, replicas, got "disk"',
      'redis.replicas: expected an integer of at least 1, got 0',
      'redis.prefix: expected a non-empty string, got ""',
      'ingress.hostname: expected a host name such as relay.example.net, got "relay_1.example.net"',
      'ingress.listeners[0].port: expected an integer from 0 to 65535, got 70000',
      'ingress.listeners[1].host: missing: expected an address to listen on such as 0.0.0.0, :: or 127.0.0.1',
      'ingress.listeners[1].port: expected an integer from 0 to 65535, got "25"',
      'ingress.listeners[1].proxyProtocol: expected true or false, got "yes"',
      'ingress.maxMessageSize: expected an integer from 1 to 536870912, got 1073741824 (Redis stores a string of at most 512 MiB)',
      'ingress.maxRecipients: expected an integer of at least 100, got 50 (RFC 5321 §4.5.3.1.8)',
      'ingress.maxErrors: expected an integer of at least 1, got 0',
      'ingress.tls.key: missing: expected a file path',
      'ingress.auth: expected a mapping, got "/users"',
      'ingress.limits.connectionsPerClient: expected an integer of at least 0, got 1.5 (0: no limit)',
      'ingress.queue: expected a mapping, got a list',
      'routing.transports["example.test"]: expected a transport: smtp:host[:port], smtp:[host][:port], smtp:[192.0.2.1][:port], mx, reject[:550 5.7.1 text] or hold, got ""',
      'routing.transports["example.com."]: the same domain as another key (example.com)',
      'routing.transports["a.test"]: expected an address in brackets, as in smtp:[192.0.2.1]:25 (there is no MX look-up for an address), got "smtp:192.0.2.1"',
      'routing.lists.staff: expected an address such as staff@example.com, got "staff"',
      'routing.lists["ops@example.com"][1]: expected an address such as staff@example.com, got 42',
      'routing.lists["ops@example.com"][2]: expected an address such as staff@example.com, got "<b@example.com>"',
      'routing.dns.servers[0]: expected an IP address, optionally with a port (192.0.2.53:53, [2001:db8::53]:53), got "192.0.2.53:99999"',
      'routing.dns.servers[1]: expected an IP address, optionally with a port (192.0.2.53:53, [2001:db8::53]:53), got "resolver.example.net"',
      'routing.sourceRoutes: expected one of strip, honour, got "follow"',
      'egress.tls: expected one of none, opportunistic, required, got "always"',
      'metrics.host: expected an address to listen on such as 0.0.0.0, :: or 127.0.0.1, got ""',
      'metrics.port: expected an integer from 0 to 65535, got -1',
      'log: expected a mapping, got null (an empty section reads as null: remove it, or write {})',
    ]);
  });

  it('of lists and mappings are checked for their type', () => {
    expect(
      yaml(`
ingress: { listeners: [], relayDomains: example.com, trustedNetworks: {a: 1} }
routing: { transports: [a] }
egress: { retry: { schedule: 5m } }
metrics: 9464
`),
    ).toEqual([
      'ingress.listeners: expected a list of at least one entry, got an empty list',
      'ingress.trustedNetworks: expected a list, got a mapping',
      'ingress.relayDomains: expected a list, got "example.com"',
      'routing.transports: expected a mapping, got a list',
      'egress.retry.schedule: expected a list, got "5m"',
      'metrics: expected a mapping, got 9464',
    ]);
  });

  it('of the whole file must be a mapping', () => {
    expect(yaml('- redis')).toEqual(['(top level): expected a mapping, got a list']);
    expect(yaml('just text')).toEqual(['(top level): expected a mapping, got "just text"']);
  });

  it('are normalised: CIDRs, domains and transport keys', () => {
    const config = loadConfig({
      env: {},
      text: `
ingress:
  trustedNetworks: [192.0.2.7, '2001:DB8::/32']
  loadBalancers: ['::1']
  relayDomains: [Example.COM., .Sub.Example.com]
routing: { transports: { EXAMPLE.test.: mx } }
`,
    });
    expect(config.ingress.trustedNetworks).toEqual(['192.0.2.7/32', '2001:db8::/32']);
    expect(config.ingress.loadBalancers).toEqual(['::1/128']);
    expect(config.ingress.relayDomains).toEqual(['example.com', '.sub.example.com']);
    expect(Object.keys(config.routing.transports)).toEqual(['example.test']);
  });
});

describe('networks', () => {
  it('are refused when malformed, with host bits set, or open to every address', () => {
    expect(
      yaml(`
ingress:
  trustedNetworks: [10.0.0.1/8, 0.0.0.0/0, '::/0', 10.0.0.0/33, nonsense, 'fe80::1%eth0', 7]
  loadBalancers: [172.16.0.0/12, '2001:db8::1/64']
  relayDomains: ['*', '*.example.com', user@example.com]
`),
    ).toEqual([
      'ingress.trustedNetworks[0]: expected a network address, with no bits set below its /8 prefix, got "10.0.0.1/8" (did you mean 10.0.0.0/8?)',
      'ingress.trustedNetworks[1]: expected a network narrower than every address, got "0.0.0.0/0" (that would make an open relay)',
      'ingress.trustedNetworks[2]: expected a network narrower than every address, got "::/0" (that would make an open relay)',
      'ingress.trustedNetworks[3]: expected a prefix length from 0 to 32 after the /, got "10.0.0.0/33"',
      'ingress.trustedNetworks[4]: expected a network such as 10.0.0.0/8 or 2001:db8::/32, got "nonsense"',
      'ingress.trustedNetworks[5]: expected a network such as 10.0.0.0/8 or 2001:db8::/32, got "fe80::1%eth0"',
      'ingress.trustedNetworks[6]: expected a network such as 10.0.0.0/8 or 2001:db8::/32, got 7',
      'ingress.relayDomains[0]: expected a domain such as example.com, or .example.com for its subdomains, got "*" (relaying for every domain is an open relay)',
      'ingress.relayDomains[1]: expected a domain such as example.com, or .example.com for its subdomains, got "*.example.com"',
      'ingress.relayDomains[2]: expected a domain such as example.com, or .example.com for its subdomains, got "user@example.com"',
      'ingress.loadBalancers[1]: expected a network address, with no bits set below its /64 prefix, got "2001:db8::1/64" (did you mean 2001:db8::/64?)',
    ]);
  });
});

describe('ingress.resolve.address', () => {
  it('is host:port, with IPv6 in brackets', () => {
    const address = (value: string) =>
      loadConfig({ env: { PETREL_INGRESS__RESOLVE__ADDRESS: value } }).ingress.resolve.address;
    expect(address('127.0.0.1:50051')).toBe('127.0.0.1:50051');
    expect(address("'[::1]:50051'")).toBe('[::1]:50051');
    expect(address('petrel-routing.petrel.svc:50051')).toBe('petrel-routing.petrel.svc:50051');
    for (const bad of ['petrel-routing', '::1:50051', 'routing:0', 'a b:1'])
      expect(() => address(bad)).toThrow(
        /ingress\.resolve\.address.*expected host:port, such as petrel-routing:50051/,
      );
  });
});

describe('keys checked against each other', () => {
  it('refuse PROXY without load balancers, and listeners or metrics on one address', () => {
    expect(
      yaml(`
ingress:
  listeners:
    - { host: 0.0.0.0, port: 25, proxyProtocol: true }
    - { host: 0.0.0.0, port: 25 }
    - { host: 127.0.0.1, port: 0 }
    - { host: 127.0.0.1, port: 0 }
metrics: { host: 0.0.0.0, port: 25 }
`),
    ).toEqual([
      'ingress.listeners[0].proxyProtocol: PROXY headers are accepted only from ingress.loadBalancers, which is empty (list the load balancers’ networks)',
      'ingress.listeners[1]: listens on 0.0.0.0:25 as ingress.listeners[0] does',
      'metrics.port: 0.0.0.0:25 is ingress.listeners[0]’s address',
    ]);
  });

  it('refuse credentials egress does not define, and gRPC on the metrics address', () => {
    expect(
      yaml(`
routing:
  transports:
    a.test: { nexthop: 'smtp:[relay.test]:587', auth: relay }
    b.test: { nexthop: 'smtp:[relay.test]:587', auth: known }
  grpc: { host: 127.0.0.1, port: 9464 }
egress:
  credentials: { known: { username: u, passwordFile: /p } }
`),
    ).toEqual([
      'routing.grpc.port: 127.0.0.1:9464 is metrics.port’s address',
      'routing.transports["a.test"].auth: names "relay", which egress.credentials does not define',
    ]);
  });

  it('refuse the admin API off loopback without TLS, and TLS without a way to tell callers apart', () => {
    expect(yaml('admin: { host: 0.0.0.0 }')).toEqual([
      'admin.tls: the admin API listens on 0.0.0.0, off loopback, which needs TLS (set admin.tls, and admin.tokensFile or admin.tls.clientCa)',
    ]);
    expect(yaml('admin: { host: 0.0.0.0, tls: { cert: /c, key: /k } }')).toEqual([
      'admin.tokensFile: with admin.tls set, clients must prove who they are: set admin.tokensFile (bearer tokens) or admin.tls.clientCa (client certificates)',
    ]);
    expect(
      loadConfig({
        env: {},
        text: 'admin: { host: 0.0.0.0, tls: { cert: /c, key: /k, clientCa: /ca } }',
      }).admin.tls?.clientCa,
    ).toBe('/ca');
    expect(
      yaml('admin: { host: 127.0.0.2, port: 50051 }\nrouting: { grpc: { host: 127.0.0.2 } }'),
    ).toEqual(['admin.port: 127.0.0.2:50051 is routing.grpc.port’s address']);
  });
});

describe('the file itself', () => {
  it('must be YAML, with each key once', () => {
    expect(yaml('ingress: [\nredis: 1\n')).toEqual([
      'petrel.yaml: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1',
    ]);
    expect(yaml('redis: {}\nredis: {}\n')).toEqual([
      'petrel.yaml: Map keys must be unique at line 2, column 1',
    ]);
  });

  it('must be readable, named by where it came from', () => {
    expect(
      problems({ env: { PETREL_CONFIG: '/nonexistent/petrel.yaml' }, file: undefined }),
    ).toEqual([
      'PETREL_CONFIG=/nonexistent/petrel.yaml: cannot read the configuration file (ENOENT)',
    ]);
    const dir = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'petrel-config-'));
    expect(problems({ file: dir })).toEqual([
      `${dir}: cannot read the configuration file (EISDIR)`,
    ]);
  });

  it('reports its problems with those of the environment', () => {
    expect(problems({ text: 'a: [', file: 'x.yaml', env: { PETREL_NOPE: '1' } })).toEqual([
      expect.stringMatching(/^x\.yaml: /),
      'PETREL_NOPE: names no configuration key',
    ]);
  });

  it('is read from disk as written', () => {
    const dir = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'petrel-config-'));
    const file = join(dir, 'petrel.yaml');
    writeFileSync(file, 'log: { level: error }\n');
    expect(loadConfig({ env: { PETREL_CONFIG: file } }).log.level).toBe('error');
  });
});

describe('ConfigError', () => {
  it('carries every problem, one per line of its message', () => {
    try {
      loadConfig({
        env: {},
        text: 'ingress: { listeners: [{ host: 0.0.0.0, port: 70000 }], maxErrors: 0 }',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).name).toBe('ConfigError');
      expect((error as ConfigError).message).toBe(
        'ingress.listeners[0].port: expected an integer from 0 to 65535, got 70000\n' +
          'ingress.maxErrors: expected an integer of at least 1, got 0',
      );
    }
  });
});
