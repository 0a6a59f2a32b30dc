import { decodeTime, isValid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { QUEUES } from './queues.js';
import { assertSafeEnvelope, bodyKey, newMessageId } from './transaction-job.js';

/** The part of a key Redis Cluster hashes: the first non-empty {...}, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close <= open + 1) return key;
  return key.slice(open + 1, close);
}

describe('newMessageId', () => {
  it('is a ULID carrying the given time', () => {
    const id = newMessageId(1_700_000_000_123);
    expect(isValid(id)).toBe(true);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(decodeTime(id)).toBe(1_700_000_000_123);
  });

  it('increases strictly, even within one millisecond or when the clock steps back', () => {
    const ids = [newMessageId(1_700_000_000_000)];
    for (let i = 0; i < 1000; i++) ids.push(newMessageId(1_700_000_000_000));
    ids.push(newMessageId(1_699_999_999_000));
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
  });
});

describe('bodyKey', () => {
  it('lives under the prefix, in the same cluster slot as the queue keys', () => {
    const key = bodyKey('{petrel}', '01HZX0000000000000000000AA');
    expect(key).toBe('{petrel}:body:01HZX0000000000000000000AA');
    // BullMQ builds `${prefix}:${queue}:${suffix}`.
    expect(hashTag(key)).toBe(hashTag(`{petrel}:${QUEUES.transactions}:wait`));
    expect(hashTag(key)).toBe('petrel');
  });
});

describe('assertSafeEnvelope', () => {
  it('accepts plain data, null and numbers', () => {
    expect(() => assertSafeEnvelope({ a: 'x', b: [1, null, { c: 'ü' }] })).not.toThrow();
  });

  it.each([
    ['CR', 'a\rb'],
    ['LF', 'a\nb'],
    ['NUL', 'a\0b'],
  ])('names the field holding %s', (_name, value) => {
    expect(() => assertSafeEnvelope({ client: { helo: { name: value } } })).toThrow(
      'job.client.helo.name contains CR, LF or NUL',
    );
    expect(() => assertSafeEnvelope({ recipients: [{ raw: 'ok' }, { raw: value }] })).toThrow(
      'job.recipients[1].raw contains',
    );
  });
});
