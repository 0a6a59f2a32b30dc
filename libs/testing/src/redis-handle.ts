// What a test gets from startRedis(): where the Redis is, and how to stop it
// (and, for a process the test owns, how to crash and restart it).

export interface RedisHandle {
  /** redis://host:port */
  readonly url: string;
  /** 'env': REDIS_URL; 'container': testcontainers; 'process': a spawned redis-server. */
  readonly kind: 'env' | 'container' | 'process';
  /** Stops what was started (nothing for 'env'). Idempotent. */
  stop(): Promise<void>;
  /** Only for kind 'process': SIGKILL, as a crash would (nothing is flushed beyond what fsync already wrote). */
  kill?(): Promise<void>;
  /** Only for kind 'process': starts again with the same port and directory (the AOF is replayed); resolves once PING answers. */
  restart?(): Promise<void>;
  /** Only for kind 'process': the redis-server's process id (changes with restart). */
  readonly pid?: number;
  /** Only for kind 'process': the data directory (AOF lives under it). */
  readonly dir?: string;
}
