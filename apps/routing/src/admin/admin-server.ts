// The admin API's port: petrel.admin.v1.Admin over @grpc/grpc-js, served by
// the routing service (the one service that already reads the queue as a
// whole and resolves routes: Resolve and Release need its router).
//
// Who may call:
//   no admin.tls      plaintext, for loopback only (the configuration refuses
//                     any other host); a token is still required when
//                     admin.tokensFile is set.
//   admin.tls         TLS; every call needs a bearer token from tokensFile
//                     ("authorization: Bearer <token>"), or, with
//                     tls.clientCa, a client certificate that CA signed
//                     (the handshake refuses any other).
// The caller's name (the token's name, or the certificate's CN, or "local")
// goes into every mutation's audit line with the actor relayctl sends.
// The tokens file is read again when it changes.
//
// Does not: implement the calls (admin-service.ts).

import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { AdminConfig } from '@petrel/config';
import type { Logger } from '@petrel/observability';
import { adminService } from '@petrel/proto';
import { timingSafeEqual } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';

export interface AdminServer {
  readonly port: number;
  readonly address: string;
  close(graceMs?: number): Promise<void>;
}

/** The handlers, given the caller's name. */
export type AdminHandlers = Record<
  string,
  (
    call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>,
    caller: string,
  ) => Promise<unknown>
>;

export class AuthError extends Error {}

export async function startAdminServer(options: {
  config: AdminConfig;
  handlers: AdminHandlers;
  logger: Logger;
}): Promise<AdminServer> {
  const { config, handlers, logger } = options;
  let tokens = config.tokensFile === null ? null : readTokens(config.tokensFile);
  if (config.tokensFile !== null) {
    const file = config.tokensFile;
    watchFile(file, { interval: 1000 }, () => {
      try {
        tokens = readTokens(file);
        logger.info({ tokensFile: file, tokens: tokens.size }, 'admin tokens file loaded');
      } catch (err) {
        logger.error(
          { key: 'admin.tokensFile', err: String(err) },
          'admin tokens file refused; the old one stays',
        );
      }
    });
  }

  const callerOf = (call: ServerUnaryCall<unknown, unknown>): string => {
    const header = call.metadata.get('authorization')[0];
    const presented =
      typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
    if (presented !== undefined) {
      const name = lookup(tokens, presented);
      if (name === undefined) throw new AuthError('unknown bearer token');
      return name;
    }
    if (config.tls !== null && config.tls.clientCa !== null) {
      // The handshake admitted only certificates clientCa signed.
      const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN;
      return `cert:${Array.isArray(cn) ? cn.join(',') : (cn ?? 'unnamed')}`;
    }
    if (tokens !== null || config.tls !== null) throw new AuthError('a bearer token is required');
    return 'local';
  };

  const implementation: UntypedServiceImplementation = {};
  for (const [name, definition] of Object.entries(adminService())) {
    const handler = handlers[name];
    if (handler === undefined) throw new Error(`admin: no handler for ${name}`);
    const fail = (err: unknown) => {
      const code =
        err instanceof AuthError
          ? status.UNAUTHENTICATED
          : ((err as { grpcCode?: number }).grpcCode ?? status.INTERNAL);
      if (code === status.INTERNAL)
        logger.error({ call: name, err: String(err) }, 'admin call failed');
      if (code === status.UNAUTHENTICATED)
        logger.warn({ call: name, err: String(err) }, 'admin call refused');
      return { code, details: err instanceof Error ? err.message : String(err) };
    };
    if (definition.responseStream) {
      implementation[name] = (call: ServerWritableStream<unknown, unknown>) => {
        void (async () => {
          try {
            await handler(call, callerOf(call as never));
            call.end();
          } catch (err) {
            call.emit('error', fail(err));
          }
        })();
      };
    } else {
      implementation[name] = (
        call: ServerUnaryCall<unknown, unknown>,
        callback: sendUnaryData<unknown>,
      ) => {
        void (async () => {
          try {
            callback(null, await handler(call, callerOf(call)));
          } catch (err) {
            callback(fail(err));
          }
        })();
      };
    }
  }

  const server = new Server({
    'grpc.max_receive_message_length': 1024 * 1024,
    // A second process on the same port is an error, not a silent share.
    'grpc.so_reuseport': 0,
  });
  server.addService(adminService(), implementation);
  let credentials = ServerCredentials.createInsecure();
  if (config.tls !== null) {
    credentials = ServerCredentials.createSsl(
      config.tls.clientCa === null ? null : readFileSync(config.tls.clientCa),
      [{ cert_chain: readFileSync(config.tls.cert), private_key: readFileSync(config.tls.key) }],
      config.tls.clientCa !== null,
    );
  }
  const target = config.host.includes(':')
    ? `[${config.host}]:${config.port}`
    : `${config.host}:${config.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(target, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  const host =
    config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '[::1]' : config.host;
  const address = `${host}:${port}`;
  logger.info(
    { address, tls: config.tls !== null, tokens: tokens?.size ?? 0 },
    'admin API listening',
  );
  let closing: Promise<void> | undefined;
  return {
    port,
    address,
    close(graceMs = 2000) {
      if (config.tokensFile !== null) unwatchFile(config.tokensFile);
      closing ??= new Promise((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closing;
    },
  };
}

/** "name token" per line; # comments and blank lines ignored. */
export function readTokens(file: string): Map<string, string> {
  const tokens = new Map<string, string>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') return;
      const [name, token, ...rest] = line.split(/\s+/);
      if (token === undefined || rest.length > 0 || token.length < 16)
        throw new Error(
          `${file}:${i + 1}: expected "name token" with a token of 16 characters or more`,
        );
      tokens.set(token, name!);
    });
  return tokens;
}

function lookup(tokens: Map<string, string> | null, presented: string): string | undefined {
  if (tokens === null) return undefined;
  const given = Buffer.from(presented);
  for (const [token, name] of tokens) {
    const known = Buffer.from(token);
    if (known.length === given.length && timingSafeEqual(known, given)) return name;
  }
  return undefined;
}
