// Shards: copies of the whole queue (transactions, deliveries, held, bodies,
// counters, events), each under its own prefix. Ingress spreads the messages
// over them; routing and egress work on all of them, with one worker each. A
// message lives in one shard from its 250 to its last delivery, with every
// job and key about it, so that each commit stays one MULTI on one
// connection. On Redis Cluster each shard's prefix has its own hash tag, so
// its own slot, and the shards' work spreads over the masters serving them.
//
// Shard 0 is `prefix` itself, so that a relay going from one shard to more
// keeps its queue. Shard k (k ≥ 1) puts "-k" at the end of the hash tag
// ({petrel} → {petrel-1}), or at the end of a prefix without one. The
// prefixes depend on k only: adding shards keeps the existing ones. Removing
// shards strands the messages queued in them: drain the relay first
// (docs/operations.md).
//
// Does not: choose a shard (ingress does: round robin over the ready ones),
// or place slots on masters (with the default prefix, shards 0, 1 and 2 fall
// in the three thirds of the slot range, which redis-cli --cluster create
// gives to three masters; docs/architecture.md).

/** The prefixes of `shards` shards of `prefix`, shard 0 first. */
export function shardPrefixes(prefix: string, shards: number): string[] {
  const open = prefix.indexOf('{');
  const close = open === -1 ? -1 : prefix.indexOf('}', open + 1);
  const tagged = close > open + 1;
  const out = [prefix];
  for (let k = 1; k < shards; k++)
    out.push(tagged ? `${prefix.slice(0, close)}-${k}${prefix.slice(close)}` : `${prefix}-${k}`);
  return out;
}

/** The prefix of the shard holding the body at `bodyKey` (transaction-job.ts bodyKey()). */
export function prefixOfBodyKey(bodyKey: string): string {
  const at = bodyKey.lastIndexOf(':body:');
  if (at <= 0) throw new Error(`not a body key: "${bodyKey}"`);
  return bodyKey.slice(0, at);
}
