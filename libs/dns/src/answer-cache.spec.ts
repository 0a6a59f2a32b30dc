import { describe, expect, it } from 'vitest';
import { AnswerCache } from './answer-cache.js';

describe('AnswerCache', () => {
  it('returns an entry until it expires, then forgets it', () => {
    const cache = new AnswerCache<string>(10);
    cache.set('k', 'v', 1000);
    expect(cache.get('k', 999)).toEqual({ value: 'v', expiresAt: 1000 });
    expect(cache.get('k', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('pushes out the least recently used entry at capacity', () => {
    const cache = new AnswerCache<number>(2);
    cache.set('a', 1, 100);
    cache.set('b', 2, 100);
    expect(cache.get('a', 0)?.value).toBe(1); // a is now the most recent
    cache.set('c', 3, 100);
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)?.value).toBe(1);
    expect(cache.get('c', 0)?.value).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('keeps nothing with capacity 0', () => {
    const cache = new AnswerCache<number>(0);
    cache.set('a', 1, 100);
    expect(cache.get('a', 0)).toBeUndefined();
  });
});
