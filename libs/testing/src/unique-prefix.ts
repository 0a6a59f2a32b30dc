// A fresh BullMQ key prefix per test, so that tests sharing one Redis never
// see each other's queues, bodies or limits. The prefix is a Redis Cluster
// hash tag (`{...}`), so every key built on it lands in one slot, as Petrel's
// own prefixes do in production.

import { randomBytes } from 'node:crypto';

/** `{t-<name>-<random>}`: the name (lower-cased, [a-z0-9-] only, 24 characters at most) helps reading keys. */
export function uniquePrefix(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 24);
  const random = randomBytes(6).toString('hex');
  return label === '' ? `{t-${random}}` : `{t-${label}-${random}}`;
}
