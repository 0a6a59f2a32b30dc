// The configuration file's shape, with the operator's names, every default,
// and the one mapping to the services' shape (config-types.ts): a key whose
// value is a duration is written with units and without a suffix in the file
// (`drainTimeout: 30s`) and arrives in milliseconds with the suffix Ms
// (`drainTimeoutMs: 30000`). `timeouts.command` becomes `timeouts.commandMs`,
// `retry.schedule` becomes `retry.scheduleMs`, and so on; nothing else is
// renamed.
//
// Mappings are strict: a key the schema does not name is an error.
// Defaults of whole sections are "prefaults": an absent section is read as {}
// so that its keys' own defaults apply.
//
// Does not: word messages (values.ts), read the environment (env-overrides.ts)
// or check keys against each other (cross-checks.ts).

import { hostname as osHostname } from 'node:os';
import * as z from 'zod';
import type {
  AdminConfig,
  EgressConfig,
  IngressConfig,
  LogLevel,
  MetricsConfig,
  PetrelConfig,
  RedisConfig,
  RoutingConfig,
} from './config-types.js';
import {
  boolean,
  dnsServer,
  domainPattern,
  duration,
  expectedMessage,
  hostname,
  integer,
  list,
  listenHost,
  mailAddress,
  serviceAddress,
  network,
  oneOf,
  redisUrl,
  text,
  transport,
} from './values.js';
import type { Transport } from './transport.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
/** Redis keeps a string of at most 512 MB, and ingress stores a body as one. */
const MAX_BODY = 512 * 1024 * 1024;

function section<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape, {
    error: (issue) => expectedMessage(issue.input, 'a mapping', nullSectionHint(issue.input)),
  });
}

function nullSectionHint(input: unknown): string | undefined {
  return input === null ? 'an empty section reads as null: remove it, or write {}' : undefined;
}

/** A mapping of names the operator chooses (list names, domains). */
function namedMap<T extends z.ZodType>(value: T) {
  return z.record(z.string(), value, {
    error: (issue) => expectedMessage(issue.input, 'a mapping'),
  });
}

const redis = section({
  url: redisUrl().default(null),
  durability: oneOf(['none', 'fsync', 'replicas'] as const).default('fsync'),
  replicas: integer({ min: 1 }).default(1),
  // Zero would make WAIT and WAITAOF block for ever.
  durabilityTimeout: duration({ min: 1, timer: true }).default(SECOND),
  commandTimeout: duration({ min: 1, timer: true }).default(2 * SECOND),
  prefix: text().default('{petrel}'),
  shards: integer({ min: 1, max: 64 }).default(1),
}).transform(({ durabilityTimeout, commandTimeout, ...rest }): RedisConfig => ({
  ...rest,
  durabilityTimeoutMs: durabilityTimeout,
  commandTimeoutMs: commandTimeout,
}));

const listener = section({
  host: listenHost(),
  port: integer({ min: 0, max: 65535 }),
  proxyProtocol: boolean().default(false),
  allowPlaintextAuth: boolean().default(false),
});

const ingress = section({
  hostname: hostname().default(() => osHostname().toLowerCase()),
  listeners: list(listener, { nonEmpty: true }).default(() => [
    { host: '127.0.0.1', port: 2525, proxyProtocol: false, allowPlaintextAuth: false },
  ]),
  // Loopback only: the pod or node network is never trusted implicitly.
  trustedNetworks: list(network()).default(() => ['127.0.0.0/8', '::1/128']),
  relayDomains: list(domainPattern({ wildcard: false })).default(() => []),
  loadBalancers: list(network()).default(() => []),
  maxMessageSize: integer({
    min: 1,
    max: MAX_BODY,
    why: 'Redis stores a string of at most 512 MiB',
  }).default(26_214_400),
  maxRecipients: integer({ min: 100, why: 'RFC 5321 §4.5.3.1.8' }).default(100),
  maxErrors: integer({ min: 1 }).default(20),
  maxReceivedHeaders: integer({ min: 1 }).default(100),
  timeouts: section({
    command: duration({ min: 1, timer: true }).default(5 * MINUTE),
    data: duration({ min: 1, timer: true }).default(5 * MINUTE),
  })
    .transform(({ command, data }) => ({ commandMs: command, dataMs: data }))
    .prefault({}),
  tls: section({ cert: text('a file path'), key: text('a file path') })
    .nullable()
    .default(null),
  auth: section({ usersFile: text('a file path') })
    .nullable()
    .default(null),
  expn: section({
    enabled: boolean().default(false),
  }).prefault({}),
  limits: section({
    // 0 turns a limit off (Postfix's anvil convention; ClientLimiter then asks Redis nothing).
    connectionsPerClient: integer({ min: 0, why: '0: no limit' }).default(20),
    messagesPerClientPerMinute: integer({ min: 0, why: '0: no limit' }).default(600),
    authFailuresPerClientPerHour: integer({ min: 0, why: '0: no limit' }).default(10),
  }).prefault({}),
  queue: section({
    highWatermark: integer({ min: 1 }).default(100_000),
  }).prefault({}),
  // Ask routing at RCPT time whether the recipient can ever be routed.
  resolve: section({
    address: serviceAddress().nullable().default(null),
    timeout: duration({ min: 1, timer: true }).default(250),
  })
    .transform(({ address, timeout }) => ({ address, timeoutMs: timeout }))
    .prefault({}),
  drainTimeout: duration({ min: 0, timer: true }).default(30 * SECOND),
}).transform(({ drainTimeout, ...rest }): IngressConfig => ({
  ...rest,
  drainTimeoutMs: drainTimeout,
}));

/**
 * Transport map keys are domain patterns, normalised; two spellings of one key
 * clash. Keys and values are judged in one pass, so that every problem is
 * reported at once.
 */
const transports = namedMap(z.unknown()).transform((map, ctx) => {
  const out: Record<string, Transport> = {};
  for (const [key, value] of Object.entries(map)) {
    const domain = domainPattern({ wildcard: true }).safeParse(key);
    const parsed = transport().safeParse(value);
    const issues = [...(domain.error?.issues ?? []), ...(parsed.error?.issues ?? [])];
    for (const issue of issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: [key], input: key });
    }
    if (!domain.success || !parsed.success) continue;
    if (Object.hasOwn(out, domain.data)) {
      const message = `the same domain as another key (${domain.data})`;
      ctx.addIssue({ code: 'custom', message, path: [key], input: key });
    }
    out[domain.data] = parsed.data;
  }
  return out;
});

/**
 * Local lists: an address whose mail goes to its members instead (aliases,
 * lists). Keys are compared lower-cased, as Postfix's alias look-ups are.
 */
const listMembers = list(mailAddress(), { nonEmpty: true });
const lists = namedMap(z.unknown()).transform((map, ctx) => {
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(map)) {
    const address = mailAddress().safeParse(key);
    const members = listMembers.safeParse(value);
    for (const issue of address.error?.issues ?? []) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: [key], input: key });
    }
    for (const issue of members.error?.issues ?? []) {
      ctx.addIssue({ ...issue, code: 'custom', path: [key, ...issue.path] });
    }
    if (!address.success || !members.success) continue;
    const name = address.data.toLowerCase();
    if (Object.hasOwn(out, name)) {
      const message = `the same address as another key (${name})`;
      ctx.addIssue({ code: 'custom', message, path: [key], input: key });
    }
    out[name] = members.data;
  }
  return out;
});

const routing = section({
  transports: transports.default(() => ({})),
  lists: lists.default(() => ({})),
  dns: section({
    servers: list(dnsServer()).default(() => []),
    timeout: duration({ min: 1, timer: true }).default(5 * SECOND),
  })
    .transform(({ servers, timeout }) => ({ servers, timeoutMs: timeout }))
    .prefault({}),
  sourceRoutes: oneOf(['strip', 'honour'] as const).default('strip'),
  // RFC 5321 §4.5.3.1.8: a server must take 100 recipients per transaction.
  maxRecipientsPerDelivery: integer({ min: 1 }).default(100),
  concurrency: integer({ min: 1 }).default(64),
  // A job whose worker died is taken again after at most about twice this.
  lockDuration: duration({ min: 1000, timer: true }).default(30 * SECOND),
  // SIGTERM: how long the jobs in hand may take to finish before the process exits anyway.
  drainTimeout: duration({ min: 1, timer: true }).default(30 * SECOND),
  grpc: section({
    host: listenHost().default('127.0.0.1'),
    port: integer({ min: 0, max: 65535 }).default(50051),
  }).prefault({}),
}).transform(({ lockDuration, drainTimeout, ...rest }): RoutingConfig => ({
  ...rest,
  lockDurationMs: lockDuration,
  drainTimeoutMs: drainTimeout,
}));

const egress = section({
  retry: section({
    // Postfix's reference: queue run every 5m, backoff from 5m doubling to 4000s.
    schedule: list(duration({ min: 1, timer: false }), { nonEmpty: true }).default(() =>
      [5, 10, 20, 40, 66].map((m) => m * MINUTE),
    ),
    maxLifetime: duration({ min: 1, timer: false }).default(5 * DAY),
  })
    .transform(({ schedule, maxLifetime }) => ({
      scheduleMs: schedule,
      maxLifetimeMs: maxLifetime,
    }))
    .prefault({}),
  tls: oneOf(['none', 'opportunistic', 'required'] as const).default('opportunistic'),
  // Named in routing.transports entries ({ nexthop, auth: <name> }).
  credentials: namedMap(
    section({ username: text('a user name'), passwordFile: text('a file path') }),
  ).default(() => ({})),
  concurrency: integer({ min: 1 }).default(32),
  // Postfix's default_destination_concurrency_limit; 0: no limit.
  connectionsPerDestination: integer({ min: 0, why: '0: no limit' }).default(20),
  connectionCache: section({
    // Postfix's smtp_connection_cache_time_limit.
    idle: duration({ min: 1, timer: true }).default(2 * SECOND),
    maxMessages: integer({ min: 1 }).default(100),
  })
    .transform(({ idle, maxMessages }) => ({ idleMs: idle, maxMessages }))
    .prefault({}),
  lockDuration: duration({ min: 1000, timer: true }).default(30 * SECOND),
  // SIGTERM: how long the deliveries in hand may take to finish before the process exits anyway.
  drainTimeout: duration({ min: 1, timer: true }).default(30 * SECOND),
  // RFC 5321 §4.5.3.2: the sender's timeouts.
  timeouts: section({
    connect: duration({ min: 1, timer: true }).default(30 * SECOND),
    greeting: duration({ min: 1, timer: true }).default(5 * MINUTE),
    command: duration({ min: 1, timer: true }).default(5 * MINUTE),
    dataStart: duration({ min: 1, timer: true }).default(2 * MINUTE),
    dataBlock: duration({ min: 1, timer: true }).default(3 * MINUTE),
    dataEnd: duration({ min: 1, timer: true }).default(10 * MINUTE),
  })
    .transform((t) => ({
      connectMs: t.connect,
      greetingMs: t.greeting,
      commandMs: t.command,
      dataStartMs: t.dataStart,
      dataBlockMs: t.dataBlock,
      dataEndMs: t.dataEnd,
    }))
    .prefault({}),
}).transform(({ lockDuration, drainTimeout, ...rest }): EgressConfig => ({
  ...rest,
  lockDurationMs: lockDuration,
  drainTimeoutMs: drainTimeout,
}));

const metrics = section({
  host: listenHost().default('127.0.0.1'),
  port: integer({ min: 0, max: 65535 }).default(9464),
  destinations: list(domainPattern({ wildcard: false })).default([]),
}).transform((value): MetricsConfig => value);

const admin = section({
  host: listenHost().default('127.0.0.1'),
  port: integer({ min: 0, max: 65535 }).default(50052),
  tls: section({
    cert: text('a file path'),
    key: text('a file path'),
    clientCa: text('a file path').nullable().default(null),
  })
    .nullable()
    .default(null),
  tokensFile: text('a file path').nullable().default(null),
}).transform((value): AdminConfig => value);

const log = section({
  level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const).default('info'),
}).transform((value): { level: LogLevel } => value);

/** The whole file. Its output is the services' PetrelConfig. */
export const fileSchema = section({
  redis: redis.prefault({}),
  ingress: ingress.prefault({}),
  routing: routing.prefault({}),
  egress: egress.prefault({}),
  metrics: metrics.prefault({}),
  admin: admin.prefault({}),
  log: log.prefault({}),
}).transform((value): PetrelConfig => value);
