// A typed, promise-based client of petrel.admin.v1.Admin, for relayctl and
// tests. Unary calls resolve with the response; List resolves with every
// entry; mutations call onProgress per message and resolve with the final one.
//
// Errors are @grpc/grpc-js ServiceErrors (`code`, `details`): UNAUTHENTICATED
// without a valid token, NOT_FOUND for an unknown message, INVALID_ARGUMENT
// for a bad selector, UNAVAILABLE when the server cannot be reached.
//
// Does not: retry, or read files (the caller passes PEM bytes and the token).

import {
  Client,
  credentials as grpcCredentials,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ClientReadableStream,
} from '@grpc/grpc-js';
import type {
  ListRequest,
  Entry,
  MessageRequest,
  MutateRequest,
  Progress,
  ShowResponse,
  StatusResponse,
  SummaryResponse,
  TraceResponse,
} from './admin-messages.js';
import { adminService, type Mutation } from './admin-package.js';
import { serviceMethod } from './load-proto.js';
import type { ResolveRequest, ResolveResponse } from './routing-messages.js';

export interface AdminClientOptions {
  /** "host:port". */
  readonly address: string;
  /** TLS: the CA that signed the server's certificate (PEM); null: plaintext (loopback). */
  readonly ca?: Buffer | null;
  /** Mutual TLS: this client's certificate and key (PEM). */
  readonly cert?: Buffer | null;
  readonly key?: Buffer | null;
  /** Sent as "authorization: Bearer <token>". */
  readonly token?: string | null;
  /** Per call; default 30 s (streams: none). */
  readonly deadlineMs?: number;
}

export interface AdminClient {
  summary(): Promise<SummaryResponse>;
  list(request: ListRequest): Promise<Entry[]>;
  show(request: MessageRequest): Promise<ShowResponse>;
  trace(request: MessageRequest): Promise<TraceResponse>;
  resolve(request: ResolveRequest): Promise<ResolveResponse>;
  status(): Promise<StatusResponse>;
  mutate(
    mutation: Mutation,
    request: MutateRequest,
    onProgress?: (progress: Progress) => void,
  ): Promise<Progress>;
  close(): void;
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  const service = adminService();
  const method = <Q, R>(name: string) =>
    serviceMethod<Q, R>(service, 'petrel.admin.v1.Admin', name);
  let credentials: ChannelCredentials = grpcCredentials.createInsecure();
  if (options.ca !== undefined && options.ca !== null)
    credentials = grpcCredentials.createSsl(options.ca, options.key ?? null, options.cert ?? null);
  const client = new Client(options.address, credentials);
  const metadata = (): Metadata => {
    const m = new Metadata();
    if (options.token) m.set('authorization', `Bearer ${options.token}`);
    return m;
  };
  const unaryOptions = (): CallOptions => ({
    deadline: Date.now() + (options.deadlineMs ?? 30_000),
  });

  function unary<Q, R>(name: string, request: Q): Promise<R> {
    const m = method<Q, R>(name);
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        request,
        metadata(),
        unaryOptions(),
        (error, response) => {
          if (error) reject(error);
          else if (response === undefined) reject(new Error(`${name} answered nothing`));
          else resolve(response);
        },
      );
    });
  }

  function stream<Q, R>(name: string, request: Q, onData: (item: R) => void): Promise<void> {
    const m = method<Q, R>(name);
    const call: ClientReadableStream<R> = client.makeServerStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      request,
      metadata(),
      {},
    );
    return new Promise((resolve, reject) => {
      call.on('data', onData);
      call.on('error', reject);
      call.on('end', () => resolve());
    });
  }

  return {
    summary: () => unary('Summary', {}),
    async list(request) {
      const entries: Entry[] = [];
      await stream<ListRequest, Entry>('List', request, (entry) => entries.push(entry));
      return entries;
    },
    show: (request) => unary('Show', request),
    trace: (request) => unary('Trace', request),
    resolve: (request) => unary('Resolve', request),
    status: () => unary('Status', {}),
    async mutate(mutation, request, onProgress) {
      let last: Progress | null = null;
      await stream<MutateRequest, Progress>(mutation, request, (progress) => {
        last = progress;
        onProgress?.(progress);
      });
      if (last === null || !(last as Progress).final)
        throw new Error(`${mutation}: the stream ended before its final progress`);
      return last;
    },
    close() {
      client.close();
    },
  };
}
