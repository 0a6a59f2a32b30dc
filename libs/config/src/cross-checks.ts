// Checks of one key against another, on a configuration whose keys are each
// valid already. Each problem names the key to change.
//
// Does not: warn about settings that are legal but odd (AUTH configured with
// no way to offer it); the services log those.

import type { PetrelConfig } from './config-types.js';
import { isClusterUrl } from './redis-url.js';

export function crossCheck(config: PetrelConfig): string[] {
  const problems: string[] = [];
  const { ingress, metrics } = config;
  const seen = new Map<string, number>();
  ingress.listeners.forEach((listener, i) => {
    const address = `${listener.host}:${listener.port}`;
    const first = seen.get(address);
    if (listener.port !== 0 && first !== undefined) {
      problems.push(
        `ingress.listeners[${i}]: listens on ${address} as ingress.listeners[${first}] does`,
      );
    }
    if (first === undefined) seen.set(address, i);
    if (listener.proxyProtocol && ingress.loadBalancers.length === 0) {
      problems.push(
        `ingress.listeners[${i}].proxyProtocol: PROXY headers are accepted only from ` +
          'ingress.loadBalancers, which is empty (list the load balancers’ networks)',
      );
    }
  });
  const clash = seen.get(`${metrics.host}:${metrics.port}`);
  if (metrics.port !== 0 && clash !== undefined) {
    problems.push(
      `metrics.port: ${metrics.host}:${metrics.port} is ingress.listeners[${clash}]’s address`,
    );
  }
  const grpc = config.routing.grpc;
  if (grpc.port !== 0 && grpc.port === metrics.port && grpc.host === metrics.host) {
    problems.push(`routing.grpc.port: ${grpc.host}:${grpc.port} is metrics.port’s address`);
  }
  for (const [domain, transport] of Object.entries(config.routing.transports)) {
    if (transport.auth !== null && !Object.hasOwn(config.egress.credentials, transport.auth)) {
      problems.push(
        `routing.transports["${domain}"].auth: names "${transport.auth}", which egress.credentials does not define`,
      );
    }
  }
  const { redis } = config;
  if (redis.url !== null && isClusterUrl(redis.url) && !/^[^{]*\{[^}]+\}/.test(redis.prefix)) {
    // Redis Cluster runs a command, a MULTI or a script only on keys of one
    // slot; the hash tag puts every key of the prefix in the same one.
    problems.push(
      `redis.prefix: "${redis.prefix}" has no hash tag ({name}), which Redis Cluster needs ` +
        'to keep a queue and its bodies in one slot (for example {petrel})',
    );
  }
  const admin = config.admin;
  if (!isLoopbackHost(admin.host) && admin.tls === null) {
    problems.push(
      `admin.tls: the admin API listens on ${admin.host}, off loopback, which needs TLS ` +
        '(set admin.tls, and admin.tokensFile or admin.tls.clientCa)',
    );
  }
  if (admin.tls !== null && admin.tokensFile === null && admin.tls.clientCa === null) {
    problems.push(
      'admin.tokensFile: with admin.tls set, clients must prove who they are: ' +
        'set admin.tokensFile (bearer tokens) or admin.tls.clientCa (client certificates)',
    );
  }
  if (admin.port !== 0 && admin.port === grpc.port && admin.host === grpc.host) {
    problems.push(`admin.port: ${admin.host}:${admin.port} is routing.grpc.port’s address`);
  }
  if (admin.port !== 0 && admin.port === metrics.port && admin.host === metrics.host) {
    problems.push(`admin.port: ${admin.host}:${admin.port} is metrics.port’s address`);
  }
  return problems;
}

/** 127.0.0.0/8, ::1 and localhost: a listener only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
