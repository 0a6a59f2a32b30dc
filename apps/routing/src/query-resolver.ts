// The Resolve API's question, "where would this go?", for a domain, an address
// literal, an address or a path, answered by the same rules as the
// transactions worker: a list address answers `expand` with its members; a
// source route is honoured only when the caller says the client is trusted
// and routing.sourceRoutes is `honour`; anything else is its domain's answer.
//
// A query that is none of these is an Error with code 'EINVAL' (the gRPC
// server answers INVALID_ARGUMENT).

import { DEFAULT_LIMITS, formatMailbox, parseAddressLiteral, parsePath } from '@petrel/smtp';
import type { DomainRouter } from './domain-router.js';
import type { Resolution } from './resolution.js';

const DOMAIN =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export interface QueryResolverOptions {
  readonly domains: DomainRouter;
  readonly lists: Readonly<Record<string, readonly string[]>>;
  readonly sourceRoutes: 'strip' | 'honour';
}

export class QueryResolver {
  #o: QueryResolverOptions;

  constructor(options: QueryResolverOptions) {
    this.#o = options;
  }

  /** Puts a new routing.lists in force for every query from now on (a reload). */
  replaceLists(lists: QueryResolverOptions['lists']): void {
    this.#o = { ...this.#o, lists };
  }

  async resolve(query: string, options: { trusted: boolean }): Promise<Resolution> {
    const text = query.trim();
    if (text.startsWith('[')) {
      const literal = parseAddressLiteral(text.slice(1, -1));
      if (!text.endsWith(']') || literal === null) throw invalid(`not an address literal: ${text}`);
      return this.#o.domains.route(text.toLowerCase());
    }
    if (!text.includes('@') && !text.startsWith('<')) {
      const domain = text.toLowerCase().replace(/\.$/, '');
      if (!DOMAIN.test(domain)) throw invalid(`not a domain, address or path: ${text}`);
      return this.#o.domains.route(domain);
    }
    const wrapped = text.startsWith('<') ? text : `<${text}>`;
    const parsed = parsePath(wrapped, {
      kind: 'forward',
      utf8Allowed: true,
      limits: DEFAULT_LIMITS,
    });
    if (!parsed.ok || parsed.rest !== '' || parsed.path.mailbox === null) {
      throw invalid(`not an address: ${text}`);
    }
    const { route, mailbox } = parsed.path;
    if (route.length > 0 && options.trusted && this.#o.sourceRoutes === 'honour') {
      return this.#o.domains.route(route[0]!);
    }
    if (mailbox.domain === null)
      throw invalid('<postmaster> has no domain: ask for postmaster@<host>');
    const key = formatMailbox(mailbox).toLowerCase();
    const members = this.#o.lists[key];
    if (members !== undefined) {
      return {
        decision: 'expand',
        members,
        domain: mailbox.domain,
        source: 'list',
        cached: false,
        transport: null,
      };
    }
    return this.#o.domains.route(mailbox.domain);
  }
}

function invalid(message: string): Error {
  return Object.assign(new Error(message), { code: 'EINVAL' });
}
