// The configuration a test Redis runs with, as redis-server command-line
// arguments, shared by the spawned process and the container. The defaults are
// the ones Petrel's durability promise needs (SAFETY.md "Durability: the 250
// after DATA"): AOF on, fsync before every reply, no RDB snapshots, and no
// eviction of queued mail.

export interface RedisConfigOptions {
  /** Default true. */
  readonly appendonly?: boolean;
  /** Default 'always'. */
  readonly appendfsync?: 'always' | 'everysec' | 'no';
  /** Default 'noeviction'. */
  readonly maxmemoryPolicy?: string;
  /** Appended last, so they override the above (e.g. ['--replicaof', '127.0.0.1', '6390']). */
  readonly extraArgs?: readonly string[];
}

/** True when the caller asked for anything but the defaults' silent use. */
export function hasConfig(options: RedisConfigOptions): boolean {
  return (
    options.appendonly !== undefined ||
    options.appendfsync !== undefined ||
    options.maxmemoryPolicy !== undefined ||
    (options.extraArgs !== undefined && options.extraArgs.length > 0)
  );
}

export function redisConfigArgs(options: RedisConfigOptions): string[] {
  return [
    '--appendonly',
    options.appendonly === false ? 'no' : 'yes',
    '--appendfsync',
    options.appendfsync ?? 'always',
    '--save',
    '',
    '--maxmemory-policy',
    options.maxmemoryPolicy ?? 'noeviction',
    ...(options.extraArgs ?? []),
  ];
}
