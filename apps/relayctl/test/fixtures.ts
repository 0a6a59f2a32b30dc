// Admin API answers as the server would give them, for the formatting specs.
import type {
  AdminRecipient,
  AdminReply,
  Entry,
  StatusResponse,
  SummaryResponse,
} from '@petrel/proto';

export const NOW = Date.parse('2026-11-23T16:20:00.000Z');

/** ISO time `seconds` before NOW (negative: after). */
export function ago(seconds: number): string {
  return new Date(NOW - seconds * 1000).toISOString();
}

export function reply(overrides: Partial<AdminReply> = {}): AdminReply {
  return {
    code: 451,
    enhanced: '4.3.0',
    text: 'Try again later',
    synthetic: false,
    host: 'mx.a.test[192.0.2.1]:25',
    at: ago(30),
    ...overrides,
  };
}

export function recipient(
  address: string,
  overrides: Partial<AdminRecipient> = {},
): AdminRecipient {
  return {
    address,
    state: 'pending',
    lastReply: null,
    original: `<${address}>`,
    expandedFrom: '',
    ...overrides,
  };
}

export function entry(overrides: Partial<Entry> = {}): Entry {
  return {
    id: '01M84TT0D1PARSWGMTDQNZX6CZ.1',
    messageId: '01M84TT0D1PARSWGMTDQNZX6CZ',
    state: 'queued',
    queue: 'deliveries',
    receivedAt: ago(300),
    sender: 'sender@client.test',
    recipients: [recipient('x@a.test')],
    domain: 'a.test',
    nextHops: ['mx.a.test:25'],
    attempts: 0,
    nextAttemptAt: '',
    size: 410,
    failedReason: '',
    origin: 'smtp',
    parameters: [],
    transport: '',
    ...overrides,
  };
}

export function summary(overrides: Partial<SummaryResponse> = {}): SummaryResponse {
  return {
    states: [
      { state: 'queued', entries: 3, recipients: 4 },
      { state: 'deferred', entries: 2, recipients: 2 },
      { state: 'held', entries: 1, recipients: 1 },
    ],
    bucketMinutes: [5, 10, 20, 40, 80, 160, 320, 640, 1280],
    domains: [
      { domain: 'b.test', total: 2, buckets: [1, 0, 0, 1, 0, 0, 0, 0, 0, 0], deferred: 1 },
      { domain: 'a.test', total: 4, buckets: [3, 0, 0, 0, 0, 0, 0, 0, 0, 1], deferred: 2 },
    ],
    oldestReceivedAt: ago(90_000),
    ...overrides,
  };
}

export function status(overrides: Partial<StatusResponse> = {}): StatusResponse {
  return {
    services: [
      {
        service: 'routing',
        instance: 'vm:201',
        version: '0.1.0',
        seenAt: ago(2),
        startedAt: ago(3600),
        health: 'up',
        state: 'ready',
      },
      {
        service: 'ingress',
        instance: 'vm:200',
        version: '0.1.0',
        seenAt: ago(3),
        startedAt: ago(3600),
        health: 'up',
        state: 'ready',
      },
      {
        service: 'egress',
        instance: 'vm:202',
        version: '0.1.0',
        seenAt: ago(95),
        startedAt: ago(7200),
        health: 'stale',
        state: 'draining',
      },
    ],
    queues: [
      { queue: 'transactions', waiting: 1, active: 0, delayed: 2, failed: 0, workers: 1 },
      { queue: 'deliveries', waiting: 5, active: 2, delayed: 7, failed: 1, workers: 2 },
      { queue: 'held', waiting: 1, active: 0, delayed: 0, failed: 0, workers: 0 },
    ],
    redis: {
      version: '7.0.15',
      role: 'master',
      usedMemory: 3 * 1024 * 1024,
      maxmemory: 0,
      maxmemoryPolicy: 'noeviction',
      aofEnabled: true,
      appendfsync: 'always',
      aofLastWriteStatus: 'ok',
      rdbLastBgsaveStatus: 'ok',
      rdbLastSaveAt: ago(7200),
      connectedReplicas: 0,
      save: '3600 1 300 100 60 10000',
    },
    counters: [
      { name: 'accepted', value: 1000 },
      { name: 'delivered', value: 1500 },
      { name: 'deferred', value: 20 },
      { name: 'bounced', value: 3 },
      { name: 'dsn', value: 2 },
    ],
    at: new Date(NOW).toISOString(),
    ...overrides,
  };
}
