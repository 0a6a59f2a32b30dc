// RCPT-time routability (ingress.resolve): asks routing's Resolve API whether
// a recipient the relay rules accepted can ever be routed, so that a domain
// that does not exist (550 5.1.2), a null MX (556 5.1.10) or a transport map
// `reject:5yz` is refused in the session, where the client still holds the
// message, instead of bounced by Petrel after the 250 (backscatter).
//
// Store and forward comes first: anything but a permanent refusal in time
// accepts: a transient answer (DNS SERVFAIL), routing down or slow, any error.
// The reply is routing's code and enhanced code; its text is prefixed with the
// recipient, as Postfix's reject_unknown_recipient_domain does.
//
// Does not: cache answers (routing's DNS cache does), or ask for <postmaster>.

import type { RoutingClient } from '@petrel/proto';
import { customReply, formatPath, type Path, type Reply } from '@petrel/smtp';
import type { Counter } from 'prom-client';

export interface RoutabilityOptions {
  readonly client: RoutingClient;
  readonly timeoutMs: number;
  /** Counted by outcome: refused, accepted, unavailable. */
  readonly checks: Counter<'outcome'>;
}

export class Routability {
  readonly #o: RoutabilityOptions;

  constructor(options: RoutabilityOptions) {
    this.#o = options;
  }

  /** The reply that refuses this recipient, or null to accept it. */
  async refusal(forwardPath: Path, trusted: boolean): Promise<Reply | null> {
    if (forwardPath.mailbox?.domain == null) return null;
    try {
      const answer = await this.#o.client.resolve(
        { query: formatPath(forwardPath), trusted },
        { deadlineMs: this.#o.timeoutMs },
      );
      if (answer.decision !== 'REJECT' || answer.reply === null || answer.reply.code < 500) {
        this.#o.checks.inc({ outcome: 'accepted' });
        return null;
      }
      this.#o.checks.inc({ outcome: 'refused' });
      const { code, enhanced, text } = answer.reply;
      return customReply(code, enhanced, `<${forwardPath.raw}>: ${text}`);
    } catch {
      this.#o.checks.inc({ outcome: 'unavailable' });
      return null;
    }
  }

  close(): void {
    this.#o.client.close();
  }
}
