import { describe, expect, it } from 'vitest';
import type {
  AdminCounter,
  AdminEvent,
  AdminRecipient,
  AdminReply,
  DomainRow,
  Entry,
  ListRequest,
  MutateRequest,
  Progress,
  QueueDepth,
  RedisStatus,
  ServiceInstance,
  ShowResponse,
  StateCount,
  StatusResponse,
  SummaryResponse,
  TraceResponse,
} from './admin-messages.js';
import { emptySelector } from './admin-messages.js';
import { adminService, ADMIN_SERVICE_NAME, MUTATIONS } from './admin-package.js';
import { loadProto, serviceMethod } from './load-proto.js';

const definition = loadProto('petrel/admin/v1/admin.proto');

function fieldNames(message: string): string[] {
  const type = (
    definition[`petrel.admin.v1.${message}`] as unknown as {
      type: { field?: { name: string }[] };
    }
  ).type;
  return (type.field ?? [])
    .map((f) => f.name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()))
    .sort();
}

// Typed samples: the compiler checks each has every field of its interface;
// the spec checks admin.proto has exactly these fields.
const reply: AdminReply = {
  code: 451,
  enhanced: '4.7.1',
  text: 'try later',
  synthetic: false,
  host: 'mx.example.test[127.0.0.1]:25',
  at: '2026-11-23T10:00:00.000Z',
};
const recipient: AdminRecipient = {
  address: 'a@example.test',
  state: 'deferred',
  lastReply: reply,
  original: '<a@example.test>',
  expandedFrom: '',
};
const entry: Entry = {
  id: '01J.1',
  messageId: '01J',
  state: 'deferred',
  queue: 'deliveries',
  receivedAt: '2026-11-23T09:00:00.000Z',
  sender: 's@example.org',
  recipients: [recipient],
  domain: 'example.test',
  nextHops: ['mx.example.test:25'],
  attempts: 2,
  nextAttemptAt: '2026-11-23T10:05:00.000Z',
  size: 1234,
  failedReason: '',
  origin: 'smtp',
  parameters: ['BODY=8BITMIME'],
  transport: 'example.test',
};
const list: ListRequest = { selector: { ...emptySelector(), states: ['deferred'] }, limit: 10 };
const show: ShowResponse = {
  messageId: '01J',
  entries: [entry],
  receivedFrom: '127.0.0.1',
  helo: 'client.example.org',
  tls: 'TLSv1.3',
  auth: '',
  ingress: 'relay.example:1',
  bodyStored: true,
  bodyRefs: 1,
};
const event: AdminEvent = {
  event: 'received',
  service: 'ingress',
  instance: 'i',
  at: 'x',
  json: '{}',
};
const trace: TraceResponse = { messageId: '01J', events: [event] };
const mutate: MutateRequest = { selector: emptySelector(), dryRun: true, actor: 'op', reason: 'r' };
const progress: Progress = {
  matched: 3,
  done: 1,
  changed: 1,
  unchanged: 0,
  skipped: 0,
  id: '01J.1',
  outcome: 'changed',
  detail: 'held',
  final: false,
};
const stateCount: StateCount = { state: 'queued', entries: 1, recipients: 2 };
const domainRow: DomainRow = { domain: 'example.test', total: 1, buckets: [1, 0], deferred: 0 };
const summary: SummaryResponse = {
  states: [stateCount],
  bucketMinutes: [5],
  domains: [domainRow],
  oldestReceivedAt: '2026-11-23T09:00:00.000Z',
};
const service: ServiceInstance = {
  service: 'egress',
  instance: 'e:1',
  version: '0.1.0',
  seenAt: 'x',
  startedAt: 'y',
  health: 'up',
  state: 'ready',
};
const depth: QueueDepth = {
  queue: 'deliveries',
  waiting: 1,
  active: 2,
  delayed: 3,
  failed: 4,
  workers: 1,
};
const redis: RedisStatus = {
  version: '7.0.15',
  role: 'master',
  usedMemory: 1,
  maxmemory: 0,
  maxmemoryPolicy: 'noeviction',
  aofEnabled: true,
  appendfsync: 'always',
  aofLastWriteStatus: 'ok',
  rdbLastBgsaveStatus: 'ok',
  rdbLastSaveAt: '',
  connectedReplicas: 0,
  save: '3600 1',
};
const counter: AdminCounter = { name: 'accepted', value: 3 };
const status: StatusResponse = {
  services: [service],
  queues: [depth],
  redis,
  counters: [counter],
  at: 'z',
};

describe('the message types match admin.proto as proto-loader loads it', () => {
  it.each([
    ['Reply', reply],
    ['Recipient', recipient],
    ['Entry', entry],
    ['Selector', emptySelector()],
    ['ListRequest', list],
    ['ShowResponse', show],
    ['Event', event],
    ['TraceResponse', trace],
    ['MutateRequest', mutate],
    ['Progress', progress],
    ['StateCount', stateCount],
    ['DomainRow', domainRow],
    ['SummaryResponse', summary],
    ['ServiceInstance', service],
    ['QueueDepth', depth],
    ['RedisStatus', redis],
    ['Counter', counter],
    ['StatusResponse', status],
  ])('%s has the same fields', (message, sample) => {
    expect(Object.keys(sample).sort()).toEqual(fieldNames(message));
  });

  it('the service has the unary calls, List and every mutation', () => {
    expect(Object.keys(adminService()).sort()).toEqual(
      ['List', 'Resolve', 'Show', 'Status', 'Summary', 'Trace', ...MUTATIONS].sort(),
    );
  });

  it.each([
    ['List', list, entry],
    ['Show', { id: '01J' }, show],
    ['Trace', { id: '01J' }, trace],
    ['Hold', mutate, progress],
    ['Summary', {}, summary],
    ['Status', {}, status],
  ] as const)('%s round-trips its request and response, uint64 as numbers', (name, q, r) => {
    const method = serviceMethod<unknown, unknown>(adminService(), ADMIN_SERVICE_NAME, name);
    expect(method.requestDeserialize(method.requestSerialize(q))).toEqual(q);
    expect(method.responseDeserialize(method.responseSerialize(r))).toEqual(r);
  });
});
