// Ingress's answers to the protocol core's questions: connection and message
// limits, relay permission, AUTH, EXPN lists, and the store that alone allows
// the 250 after DATA.
//
// Failure defaults are asymmetric (STYLE.md): our own trouble (Redis down or
// slow, a durability timeout, an exception) is a 4yz; a recipient no relay
// rule allowed is 554 5.7.1; nothing here ever produces a 250 for a message
// that TransactionStore.store() did not resolve.
//
// Does not: touch sockets (smtp-connection.ts) or parse anything (libs/smtp).

import { customReply, formatPath, type Question, type Verdict } from '@petrel/smtp';
import type { IngressConfig } from '@petrel/config';
import type { Logger } from '@petrel/observability';
import { newMessageId, StoreError, type MessageEvent, type MessageStore } from '@petrel/queue';
import type { ClientLimiter } from './client-limits.js';
import type { IngressMetrics } from './ingress-metrics.js';
import type { ConnectionInfo, SessionPolicy } from './smtp-connection.js';
import { decideRelay, type RelayDomains } from './policy/relay-policy.js';
import type { Routability } from './routability.js';
import type { NetworkList } from './policy/networks.js';
import {
  countReceivedHeaders,
  receivedHeader,
  receivedProtocol,
} from './policy/received-header.js';
import type { UsersFile } from './policy/users-file.js';

export interface RelayRules {
  readonly trustedNetworks: NetworkList;
  readonly relayDomains: RelayDomains;
}

export interface PolicyDependencies {
  readonly config: IngressConfig;
  /** RCPT-time routability (ingress.resolve), or null when not configured. */
  readonly routability?: Routability | null;
  /** routing.lists, which EXPN answers from; read on every EXPN, as `relay`. */
  readonly lists: () => Readonly<Record<string, readonly string[]>>;
  readonly instance: string;
  readonly store: MessageStore;
  /** The message's "received" event, as stored with it (for its log line). */
  readonly received?: (id: string, event: MessageEvent) => void;
  readonly limiter: ClientLimiter;
  /** Read on every question, so a reload takes effect for the next one. */
  readonly relay: () => RelayRules;
  readonly users: () => UsersFile | null;
  readonly metrics: IngressMetrics;
  readonly logger: Logger;
  readonly now?: () => Date;
}

export class IngressPolicy implements SessionPolicy {
  private readonly deps: PolicyDependencies;
  private readonly releases = new Map<string, () => Promise<void>>();

  constructor(deps: PolicyDependencies) {
    this.deps = deps;
  }

  async connect(info: ConnectionInfo) {
    const slot = await this.deps.limiter.openConnection(info.address);
    if (!slot.allowed) {
      await slot.release();
      this.deps.metrics.rejects.inc({ reason: 'connection-limit' });
      return customReply(
        421,
        '4.7.0',
        `Too many connections from ${info.address}, try again later`,
      );
    }
    this.releases.set(info.id, slot.release);
    return null;
  }

  disconnected(info: ConnectionInfo): void {
    const release = this.releases.get(info.id);
    this.releases.delete(info.id);
    release?.().catch(() => undefined);
  }

  async answer(question: Question, info: ConnectionInfo): Promise<Verdict> {
    switch (question.kind) {
      case 'mail':
        return this.mail(info);
      case 'rcpt': {
        const decision = decideRelay(question.recipient.forwardPath, {
          clientAddress: info.address,
          authenticated: info.session.authenticated !== null,
          ...this.deps.relay(),
        });
        if (!decision.allowed) {
          this.deps.metrics.rejects.inc({ reason: 'relay-denied' });
          return { kind: 'reject' };
        }
        const trusted =
          info.session.authenticated !== null ||
          this.deps.relay().trustedNetworks.contains(info.address);
        const refusal = await this.deps.routability?.refusal(
          question.recipient.forwardPath,
          trusted,
        );
        if (refusal == null) return { kind: 'accept' };
        this.deps.metrics.rejects.inc({ reason: 'unroutable' });
        return { kind: 'reject', reply: refusal };
      }
      case 'store':
        return this.storeMessage(question, info);
      case 'auth':
        return this.auth(question, info);
      case 'expn': {
        const members = expandList(this.deps.lists(), question.argument);
        if (members === undefined)
          return { kind: 'reject', reply: customReply(550, '5.1.1', 'No such list') };
        return { kind: 'accept', lines: members.map((m) => `<${m}>`) };
      }
      case 'turn':
        return { kind: 'reject', reply: customReply(502, '5.5.1', 'TURN is not available') };
    }
  }

  private async mail(info: ConnectionInfo): Promise<Verdict> {
    if (!(await this.deps.limiter.countMessage(info.address))) {
      this.deps.metrics.rejects.inc({ reason: 'rate-limit' });
      return {
        kind: 'disconnect',
        reply: customReply(421, '4.7.0', `Too many messages from ${info.address}, try again later`),
      };
    }
    if ((await this.deps.store.depth()) >= this.deps.config.queue.highWatermark) {
      this.deps.metrics.rejects.inc({ reason: 'watermark' });
      return {
        kind: 'defer',
        reply: customReply(452, '4.3.1', 'Insufficient system storage, try again later'),
      };
    }
    return { kind: 'accept' };
  }

  private async storeMessage(
    question: Extract<Question, { kind: 'store' }>,
    info: ConnectionInfo,
  ): Promise<Verdict> {
    const { config, metrics } = this.deps;
    if (
      countReceivedHeaders(question.body, config.maxReceivedHeaders) > config.maxReceivedHeaders
    ) {
      metrics.rejects.inc({ reason: 'hop-limit' });
      return {
        kind: 'reject',
        reply: customReply(554, '5.4.6', 'Too many hops: mail loop suspected'),
      };
    }
    const now = this.deps.now?.() ?? new Date();
    const id = newMessageId(now.getTime());
    const { transaction } = question;
    const helo = info.session.helo;
    const authenticated = info.session.authenticated;
    const header = receivedHeader({
      heloVerb: helo?.verb ?? null,
      heloName: helo?.name ?? null,
      clientAddress: info.address,
      hostname: config.hostname,
      protocol: receivedProtocol(helo?.verb === 'EHLO', info.tls !== null, authenticated !== null),
      id,
      // Without its angle brackets: the header writes "for <…>".
      recipient:
        transaction.recipients.length === 1
          ? formatPath(transaction.recipients[0]!.forwardPath).slice(1, -1)
          : null,
      date: now,
      tls: info.tls,
    });
    const headerOctets = Buffer.from(header, 'latin1');
    let size = headerOctets.length;
    for (const chunk of question.body) size += chunk.length;
    // Stored with the message, in the same MULTI (libs/queue transaction-store.ts).
    const event: MessageEvent = {
      event: 'received',
      service: 'ingress',
      instance: this.deps.instance,
      at: now.toISOString(),
      client: info.address,
      helo: helo?.name ?? null,
      tls: info.tls?.protocol ?? null,
      auth: authenticated,
      from: transaction.reversePath.raw,
      to: transaction.recipients.map((r) => r.forwardPath.raw),
      size,
    };
    const started = process.hrtime.bigint();
    try {
      const job = await this.deps.store.store(
        {
          id,
          receivedAt: now.toISOString(),
          client: {
            address: info.address,
            port: info.port,
            helo,
            tls: info.tls,
            auth: authenticated,
            proxied: info.proxied,
            trusted:
              authenticated !== null || this.deps.relay().trustedNetworks.contains(info.address),
          },
          ingress: { hostname: config.hostname, instance: this.deps.instance },
          verb: transaction.verb,
          reversePath: transaction.reversePath,
          parameters: transaction.parameters,
          recipients: [...transaction.recipients],
        },
        [headerOctets, ...question.body],
        { event },
      );
      metrics.storeSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.deps.received?.(id, event);
      metrics.messagesAccepted.inc();
      metrics.bytesAccepted.inc(job.size);
      return { kind: 'accept', queueId: id };
    } catch (err) {
      metrics.rejects.inc({ reason: 'storage' });
      const reason = err instanceof StoreError ? err.reason : 'error';
      this.deps.logger.warn(
        { event: 'store-failed', client: info.address, reason, err: String(err) },
        'message not stored',
      );
      return {
        kind: 'defer',
        reply: customReply(
          451,
          '4.3.0',
          'Requested action aborted: message not stored, try again later',
        ),
      };
    }
  }

  private async auth(
    question: Extract<Question, { kind: 'auth' }>,
    info: ConnectionInfo,
  ): Promise<Verdict> {
    const { limiter, metrics } = this.deps;
    if (await limiter.authBlocked(info.address)) {
      metrics.authAttempts.inc({ outcome: 'blocked' });
      return {
        kind: 'disconnect',
        reply: customReply(421, '4.7.0', 'Too many authentication failures, try again later'),
      };
    }
    const users = this.deps.users();
    const { username, password } = question.credentials;
    if (users !== null && (await users.verify(username, password))) {
      metrics.authAttempts.inc({ outcome: 'success' });
      return { kind: 'accept' };
    }
    metrics.authAttempts.inc({ outcome: 'failure' });
    metrics.rejects.inc({ reason: 'auth-failed' });
    if (!(await limiter.authFailure(info.address))) {
      return {
        kind: 'disconnect',
        reply: customReply(421, '4.7.0', 'Too many authentication failures, try again later'),
      };
    }
    return { kind: 'reject' };
  }
}

/**
 * The members of the list EXPN names: "staff@example.com" (or in brackets)
 * exactly, or "staff" when exactly one list has that local part.
 */
export function expandList(
  lists: Readonly<Record<string, readonly string[]>>,
  argument: string,
): readonly string[] | undefined {
  const name = argument
    .trim()
    .replace(/^<(.*)>$/, '$1')
    .toLowerCase();
  if (name.includes('@')) return Object.hasOwn(lists, name) ? lists[name] : undefined;
  const matches = Object.keys(lists).filter((key) => key.slice(0, key.lastIndexOf('@')) === name);
  return matches.length === 1 ? lists[matches[0]!] : undefined;
}
