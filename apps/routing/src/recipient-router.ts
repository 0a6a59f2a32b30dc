// A transaction's recipients → its routing plan: the deliveries (recipients
// grouped by next hop, one group per destination host set, split at
// maxRecipientsPerDelivery), the held groups, the recipients to bounce, and
// the recipients to route again later.
//
// Per recipient, in this order:
//   1. <postmaster> (no domain): the list postmaster@<ingress hostname> if
//      configured; otherwise bounced (a relay has no mailbox of its own).
//   2. A source route <@a,@b:user@c>: with sourceRoutes `honour` and a trusted
//      client, sent to a with "@b:user@c" as the forward-path (RFC 821 §3.6);
//      otherwise stripped, and routed on c (RFC 5321 §3.6.1, §C).
//   3. routing.lists: a list address expands to its members, each routed as a
//      recipient (nested lists too, 8 levels; a list already being expanded
//      is routed as an address, so "staff: [staff, bob]" keeps staff).
//   4. The domain (domain-router.ts), resolved once per domain per plan so
//      that every recipient of one domain gets the same order of hosts.
// The same forward-path twice is delivered once.
//
// Groups: relays with the same set of next hops (hosts and ports, whatever
// their order), TLS policy and credentials share a delivery; the first
// recipient's order of hosts is the delivery's.
//
// Does not: touch Redis (transaction-router.ts commits the plan), or decide
// whether a deferred recipient has expired.

import { DEFAULT_LIMITS, formatMailbox, parsePath, type Mailbox, type Path } from '@petrel/smtp';
import type { DeliveryJobV1, DeliveryRecipient, TransactionJobV1 } from '@petrel/queue';
import type { DomainRouter } from './domain-router.js';
import type { Resolution, RouteReply } from './resolution.js';

const MAX_LIST_DEPTH = 8;

export interface RecipientRef {
  readonly forwardPath: string;
  readonly original: string;
  readonly expandedFrom?: string;
}

export interface PlannedDelivery {
  readonly queue: 'deliveries' | 'held';
  readonly route: DeliveryJobV1['route'];
  readonly recipients: readonly DeliveryRecipient[];
}

export interface RecipientFailure {
  readonly recipient: RecipientRef;
  /** The untouched path, for a routing retry. */
  readonly path: Path;
  readonly reply: RouteReply;
}

export interface RoutingPlan {
  readonly deliveries: readonly PlannedDelivery[];
  readonly bounced: readonly RecipientFailure[];
  readonly deferred: readonly RecipientFailure[];
  /** Resolutions made, for metrics: one per domain. */
  readonly resolutions: readonly Resolution[];
}

export interface RecipientRouterOptions {
  readonly domains: DomainRouter;
  /** routing.lists: lower-case address → members. */
  readonly lists: Readonly<Record<string, readonly string[]>>;
  readonly sourceRoutes: 'strip' | 'honour';
  readonly maxRecipientsPerDelivery: number;
}

interface Target {
  readonly ref: RecipientRef;
  readonly path: Path;
  /** The domain to route on. */
  readonly domain: string;
}

export class RecipientRouter {
  #options: RecipientRouterOptions;

  constructor(options: RecipientRouterOptions) {
    this.#options = options;
  }

  /**
   * Puts a new routing.lists in force for the plans begun from now on (a
   * reload); a plan in progress keeps the lists it started with.
   */
  replaceLists(lists: RecipientRouterOptions['lists']): void {
    this.#options = { ...this.#options, lists };
  }

  async plan(job: TransactionJobV1): Promise<RoutingPlan> {
    const bounced: RecipientFailure[] = [];
    const targets: Target[] = [];
    const seen = new Set<string>();
    const honour = this.#options.sourceRoutes === 'honour' && job.client.trusted === true;
    const add = (target: Target | RecipientFailure): void => {
      if ('reply' in target) {
        bounced.push(target);
      } else if (!seen.has(target.ref.forwardPath)) {
        seen.add(target.ref.forwardPath);
        targets.push(target);
      }
    };
    for (const recipient of job.recipients) {
      const path = recipient.forwardPath;
      const original = path.raw;
      if (path.route.length > 0 && honour) {
        add(honoured(path, original));
      } else {
        this.#expand(path, original, undefined, job.ingress.hostname, [], add);
      }
    }

    const resolved = new Map<string, Promise<Resolution>>();
    const resolutions = await Promise.all(
      targets.map((target) => {
        let resolution = resolved.get(target.domain);
        if (resolution === undefined) {
          resolution = this.#options.domains.route(target.domain);
          resolved.set(target.domain, resolution);
        }
        return resolution;
      }),
    );

    const deferred: RecipientFailure[] = [];
    const groups = new Map<
      string,
      {
        queue: PlannedDelivery['queue'];
        route: DeliveryJobV1['route'];
        recipients: DeliveryRecipient[];
      }
    >();
    targets.forEach((target, i) => {
      const resolution = resolutions[i]!;
      switch (resolution.decision) {
        case 'reject':
          bounced.push({ recipient: target.ref, path: target.path, reply: resolution.reply });
          return;
        case 'defer':
          deferred.push({ recipient: target.ref, path: target.path, reply: resolution.reply });
          return;
        case 'expand':
          // DomainRouter resolves domains, never lists.
          throw new Error(`a domain resolved to a list: ${resolution.domain}`);
        case 'hold':
        case 'relay': {
          const key = groupKey(resolution);
          let group = groups.get(key);
          if (group === undefined) {
            group = {
              queue: resolution.decision === 'hold' ? 'held' : 'deliveries',
              route: deliveryRoute(resolution),
              recipients: [],
            };
            groups.set(key, group);
          }
          group.recipients.push({ ...target.ref, state: 'pending' });
        }
      }
    });

    const max = this.#options.maxRecipientsPerDelivery;
    const deliveries: PlannedDelivery[] = [];
    for (const group of groups.values()) {
      for (let i = 0; i < group.recipients.length; i += max) {
        deliveries.push({
          queue: group.queue,
          route: group.route,
          recipients: group.recipients.slice(i, i + max),
        });
      }
    }
    return { deliveries, bounced, deferred, resolutions: await Promise.all(resolved.values()) };
  }

  #expand(
    path: Path,
    original: string,
    expandedFrom: string | undefined,
    hostname: string,
    chain: readonly string[],
    add: (target: Target | RecipientFailure) => void,
  ): void {
    const mailbox = path.mailbox!;
    const ref = (forwardPath: string): RecipientRef =>
      expandedFrom === undefined
        ? { forwardPath, original }
        : { forwardPath, original, expandedFrom };
    if (mailbox.domain === null) {
      // <postmaster>: the relay's own postmaster, which only a list can name.
      const key = `postmaster@${hostname}`;
      const members = this.#options.lists[key];
      if (members === undefined || chain.includes(key)) {
        add({
          recipient: ref('postmaster'),
          path,
          reply: {
            code: 550,
            enhanced: '5.1.1',
            text: `No postmaster mailbox on this relay (configure routing.lists["${key}"])`,
          },
        });
        return;
      }
      this.#members(members, original, key, hostname, [...chain, key], add, path);
      return;
    }
    const address = formatMailbox(mailbox);
    const key = address.toLowerCase();
    const members = this.#options.lists[key];
    if (members !== undefined && !chain.includes(key)) {
      if (chain.length >= MAX_LIST_DEPTH) {
        add({
          recipient: ref(address),
          path,
          reply: {
            code: 554,
            enhanced: '5.4.6',
            text: `Lists nested more than ${MAX_LIST_DEPTH} deep at ${address}`,
          },
        });
        return;
      }
      this.#members(members, original, key, hostname, [...chain, key], add, path);
      return;
    }
    add({ ref: ref(address), path: stripped(path, mailbox), domain: mailbox.domain });
  }

  #members(
    members: readonly string[],
    original: string,
    list: string,
    hostname: string,
    chain: readonly string[],
    add: (target: Target | RecipientFailure) => void,
    listPath: Path,
  ): void {
    for (const member of members) {
      const parsed = parsePath(`<${member}>`, {
        kind: 'forward',
        utf8Allowed: true,
        limits: DEFAULT_LIMITS,
      });
      if (!parsed.ok || parsed.path.mailbox === null) {
        // The configuration loader checked every member; this is a bug, not input.
        add({
          recipient: { forwardPath: member, original, expandedFrom: list },
          path: listPath,
          reply: { code: 550, enhanced: '5.1.3', text: `List ${list} has a malformed member` },
        });
        continue;
      }
      this.#expand(parsed.path, original, list, hostname, chain, add);
    }
  }
}

function honoured(path: Path, original: string): Target {
  const [first, ...rest] = path.route;
  const mailbox = formatMailbox(path.mailbox!);
  const forwardPath = rest.length === 0 ? mailbox : `@${rest.join(',@')}:${mailbox}`;
  return { ref: { forwardPath, original }, path, domain: first! };
}

function stripped(path: Path, mailbox: Mailbox): Path {
  return path.route.length === 0 ? path : { route: [], mailbox, raw: formatMailbox(mailbox) };
}

function groupKey(resolution: Extract<Resolution, { decision: 'relay' | 'hold' }>): string {
  if (resolution.decision === 'hold') return `hold\0${resolution.transport}\0${resolution.domain}`;
  const hosts = resolution.hops.map((hop) => `${hop.host}:${hop.port}`).sort();
  return `relay\0${hosts.join(',')}\0${resolution.tls}\0${resolution.auth}`;
}

function deliveryRoute(
  resolution: Extract<Resolution, { decision: 'relay' | 'hold' }>,
): DeliveryJobV1['route'] {
  if (resolution.decision === 'hold') {
    return {
      domain: resolution.domain,
      hops: [],
      source: 'transport-map',
      transport: resolution.transport,
      tls: null,
      auth: null,
    };
  }
  const source = resolution.source === 'list' ? 'transport-map' : resolution.source;
  return {
    domain: resolution.domain,
    hops: resolution.hops,
    source,
    transport: resolution.transport,
    tls: resolution.tls,
    auth: resolution.auth,
  };
}
