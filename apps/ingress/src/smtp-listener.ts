// One configured SMTP listener: accepts connections, hands each to an
// SmtpConnection, and drains them on shutdown.
//
// Open relays on Kubernetes usually come from source NAT making every client
// look like one trusted address: when PROXY is off and the last sessions all
// came from one address, the listener says so in its log and metrics.
//
// Does not: speak SMTP (smtp-connection.ts) or decide anything (session-policy.ts).

import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { ListenerConfig } from '@petrel/config';
import { SmtpConnection, type ConnectionOptions } from './smtp-connection.js';

const SAME_ADDRESS_WINDOW = 100;

export class SmtpListener {
  private readonly server: Server;
  private readonly connections = new Set<SmtpConnection>();
  /** The address of the last session, and how many sessions in a row came from it. */
  private lastAddress = '';
  private sameInARow = 0;
  private warnedSameAddress = false;
  private draining = false;

  constructor(
    private readonly config: ListenerConfig,
    private readonly options: Omit<ConnectionOptions, 'listener'>,
    private readonly nextId: () => string,
  ) {
    this.server = createServer({ pauseOnConnect: true }, (socket) => {
      if (this.draining) {
        socket.destroy();
        return;
      }
      const connection = new SmtpConnection(socket, this.nextId(), {
        ...this.options,
        listener: this.name,
      });
      this.connections.add(connection);
      void connection.closedPromise.then(() => this.connections.delete(connection));
      void connection.start().then(() => this.watchAddresses(connection.info.address));
    });
  }

  get name(): string {
    return `${this.config.host}:${this.config.port}`;
  }

  get size(): number {
    return this.connections.size;
  }

  async listen(): Promise<AddressInfo> {
    this.server.listen({ host: this.config.host, port: this.config.port, backlog: 4096 });
    await once(this.server, 'listening');
    return this.server.address() as AddressInfo;
  }

  /** Stop accepting; idle sessions get 421 now, sessions in a transaction after it. */
  drain(): void {
    this.draining = true;
    this.server.close();
    for (const c of this.connections) c.drain();
  }

  /** Resolves when every connection is gone. */
  async idle(): Promise<void> {
    while (this.connections.size > 0)
      await Promise.all([...this.connections].map((c) => c.closedPromise));
  }

  forceClose(): void {
    for (const c of this.connections) c.forceClose();
  }

  private watchAddresses(address: string): void {
    if (this.config.proxyProtocol) return;
    // A run length, not a window of the last 100 addresses: the same answer
    // without 100 comparisons per session.
    if (address === this.lastAddress) this.sameInARow++;
    else {
      this.lastAddress = address;
      this.sameInARow = 1;
    }
    const same = this.sameInARow >= SAME_ADDRESS_WINDOW;
    this.options.metrics.singleClientAddress.set(same ? 1 : 0);
    if (same && !this.warnedSameAddress) {
      this.warnedSameAddress = true;
      this.options.logger.warn(
        { listener: this.name, address },
        `the last ${SAME_ADDRESS_WINDOW} sessions all came from one address and PROXY is off: if a load balancer or source NAT sits in front, every client looks alike to relay permission`,
      );
    }
  }
}
