// A bounded cache of answers with absolute expiry times: least recently used
// entries leave first once the capacity is reached; an expired entry is never
// returned. The clock is an argument, so the cache itself is pure.
//
// Does not: decide what is cached or for how long (dns-resolver.ts does, after
// RFC 2308), or sweep expired entries in the background: they leave when read
// or when pushed out.

export interface CacheEntry<V> {
  readonly value: V;
  /** ms on the caller's clock. */
  readonly expiresAt: number;
}

export class AnswerCache<V> {
  readonly #capacity: number;
  // A Map iterates in insertion order: the first key is the least recently used.
  readonly #entries = new Map<string, CacheEntry<V>>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now: number): CacheEntry<V> | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.#entries.set(key, entry);
    return entry;
  }

  set(key: string, value: V, expiresAt: number): void {
    if (this.#capacity <= 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    while (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
