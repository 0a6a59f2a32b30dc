// The calls of petrel.admin.v1.Admin (see admin.proto for each one's promise),
// over the queue (entries.ts), the numbers (queue-report.ts) and the actions
// (actions.ts). Every mutation writes one audit line: who (the credential's
// name and the actor the client sent), what, the selector, dry run or not,
// and how many entries were matched, changed, unchanged and skipped.
//
// With several shards (libs/queue shards.ts), a listing or a mutation reads
// every shard's queues, and acts on each entry in its own shard; Show and
// Trace read the shard that knows the message.
//
// Does not: listen or authenticate (admin-server.ts).

import { status } from '@grpc/grpc-js';
import type { Logger } from '@petrel/observability';
import type {
  Entry,
  ListRequest,
  MessageRequest,
  MutateRequest,
  Progress,
  ResolveRequest,
  ShowResponse,
  TraceResponse,
} from '@petrel/proto';
import { emptySelector, MUTATIONS } from '@petrel/proto';
import { readEvents, refsKey } from '@petrel/queue';
import type { Counter } from 'prom-client';
import { toResolveResponse } from '../grpc/to-resolve-response.js';
import type { Resolution } from '../resolution.js';
import { act, plan, type ActionContext, type ActionName } from './actions.js';
import type { AdminHandlers } from './admin-server.js';
import { readEntries, type QueueEntry } from './entries.js';
import type { QueueReport } from './queue-report.js';
import { checkSelector, matches, SelectorError } from './selector.js';

export interface AdminServiceOptions {
  /** One per shard, shard 0 first. */
  readonly shards: readonly ActionContext[];
  readonly report: QueueReport;
  resolve(query: string, options: { trusted: boolean }): Promise<Resolution>;
  readonly logger: Logger;
  readonly mutations: Counter<'action' | 'outcome'>;
  readonly dsns: Counter<'reason'>;
}

class CallError extends Error {
  constructor(
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

const MESSAGE_ID = /^[0-9A-Za-z]{1,64}$/;

export function adminHandlers(o: AdminServiceOptions): AdminHandlers {
  const select = async (request: ListRequest | MutateRequest, mutation: boolean) => {
    let selector;
    try {
      selector = checkSelector(request.selector, mutation);
    } catch (err) {
      if (err instanceof SelectorError) throw new CallError(status.INVALID_ARGUMENT, err.message);
      throw err;
    }
    const now = Date.now();
    const found: QueueEntry[] = [];
    for await (const qe of readEntries(o.shards)) {
      if (matches(qe.entry, selector, now)) found.push(qe);
    }
    found.sort(
      (a, b) =>
        a.entry.receivedAt.localeCompare(b.entry.receivedAt) ||
        a.entry.id.localeCompare(b.entry.id),
    );
    return found;
  };

  const messageId = (request: MessageRequest): string => {
    const id = request.id.trim().replace(/\.\w+$/, '');
    if (!MESSAGE_ID.test(id))
      throw new CallError(status.INVALID_ARGUMENT, `not a message id: "${request.id}"`);
    return id;
  };

  /** The message's events, body and references, from the first shard that has its events or body. */
  const storedMessage = async (id: string) => {
    let first = null;
    for (const { redis, prefix } of o.shards) {
      const [events, stored, refs] = await Promise.all([
        readEvents(redis, prefix, id),
        redis.exists(`${prefix}:body:${id}`),
        redis.get(refsKey(prefix, id)),
      ]);
      const found = { events, stored, refs };
      if (events.length > 0 || stored > 0) return found;
      first ??= found;
    }
    return first!;
  };

  const handlers: AdminHandlers = {
    Summary: () => o.report.summary(),
    Status: () => o.report.status(),
    async Resolve(call) {
      const request = call.request as ResolveRequest;
      if (request.query === '' || request.query.length > 512)
        throw new CallError(status.INVALID_ARGUMENT, 'the query must be 1 to 512 characters');
      return toResolveResponse(await o.resolve(request.query, { trusted: request.trusted }));
    },
    async List(call) {
      const request = call.request as ListRequest;
      const stream = call as unknown as { write(entry: Entry): boolean };
      const found = await select(request, false);
      const limit = request.limit > 0 ? request.limit : found.length;
      for (const qe of found.slice(0, limit)) stream.write(qe.entry);
      return undefined;
    },
    async Show(call): Promise<ShowResponse> {
      const id = messageId(call.request as MessageRequest);
      const byId = () => select({ selector: { ...emptySelector(), ids: [id] }, limit: 0 }, false);
      const [first, { events, stored, refs }] = await Promise.all([byId(), storedMessage(id)]);
      let found = first;
      // The body is still needed by an entry the reading missed: a delivery
      // being retried moved to a state already read (entries.ts). Read again.
      for (let again = 0; found.length === 0 && Number(refs ?? 0) > 0 && again < 3; again++)
        found = await byId();
      if (found.length === 0 && events.length === 0)
        throw new CallError(status.NOT_FOUND, `no message ${id} in the queue or its history`);
      const received = events.find((e) => e.event === 'received') as
        Record<string, unknown> | undefined;
      const text = (v: unknown) => (typeof v === 'string' ? v : '');
      return {
        messageId: id,
        entries: found.map((qe) => qe.entry),
        receivedFrom: text(received?.['client']),
        helo: text(received?.['helo']),
        tls: text(received?.['tls']),
        auth: text(received?.['auth']),
        ingress: text(received?.['instance']),
        bodyStored: stored > 0,
        bodyRefs: Number(refs ?? 0),
      };
    },
    async Trace(call): Promise<TraceResponse> {
      const id = messageId(call.request as MessageRequest);
      const { events } = await storedMessage(id);
      if (events.length === 0)
        throw new CallError(status.NOT_FOUND, `no events recorded for ${id}`);
      return {
        messageId: id,
        events: events.map((e) => ({
          event: e.event,
          service: e.service,
          instance: e.instance,
          at: e.at,
          json: JSON.stringify(e),
        })),
      };
    },
  };

  for (const mutation of MUTATIONS) {
    const action = mutation.toLowerCase() as ActionName;
    handlers[mutation] = async (call, caller) => {
      const request = call.request as MutateRequest;
      const stream = call as unknown as { write(progress: Progress): boolean };
      const found = await select(request, true);
      const by = request.actor === '' ? caller : `${request.actor} (${caller})`;
      const tally = { matched: found.length, done: 0, changed: 0, unchanged: 0, skipped: 0 };
      for (const qe of found) {
        let result;
        if (request.dryRun) result = plan(action, qe.entry);
        else {
          try {
            result = await act(o.shards[qe.shard]!, action, qe, { by, reason: request.reason });
          } catch (err) {
            result = { outcome: 'skipped' as const, detail: `failed: ${String(err)}` };
          }
        }
        tally.done += 1;
        tally[result.outcome] += 1;
        if (!request.dryRun) o.mutations.inc({ action, outcome: result.outcome });
        if (!request.dryRun && result.detail.startsWith('bounced, DSN'))
          o.dsns.inc({ reason: 'operator' });
        stream.write({
          ...tally,
          id: qe.entry.id,
          outcome: request.dryRun && result.outcome === 'changed' ? 'would change' : result.outcome,
          detail: result.detail,
          final: false,
        });
      }
      o.logger.info(
        {
          event: 'admin',
          action,
          by,
          caller,
          selector: request.selector,
          dryRun: request.dryRun,
          reason: request.reason || undefined,
          ...tally,
        },
        `admin ${action}${request.dryRun ? ' (dry run)' : ''}: ${tally.matched} matched, ${tally.changed} changed`,
      );
      stream.write({ ...tally, id: '', outcome: '', detail: '', final: true });
      return undefined;
    };
  }
  return handlers;
}
