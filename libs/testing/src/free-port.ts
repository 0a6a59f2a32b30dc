// A TCP port that nobody listens on at the moment of asking: the kernel picks
// one for a throw-away listener, which is closed before the port is returned.
//
// Does not: reserve the port. Another process may take it before the caller
// binds; callers that spawn servers retry on "address in use".

import { createServer } from 'node:net';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('freePort: no port'))));
    });
  });
}
