import { describe, expect, it } from 'vitest';
import { customReply } from './replies.js';
import { replyForVerdict, type Question } from './server-questions.js';
import type { Path, Transaction } from './types.js';

const path: Path = {
  route: [],
  mailbox: {
    localPart: 'b',
    quoted: false,
    domain: 'example.test',
    addressLiteral: null,
    utf8: false,
  },
  raw: 'b@example.test',
};
const tx: Transaction = { verb: 'MAIL', reversePath: path, parameters: {}, recipients: [] };
const rcpt: Question = {
  kind: 'rcpt',
  recipient: { forwardPath: path, parameters: {} },
  transaction: tx,
};
const store: Question = { kind: 'store', transaction: tx, body: [], size: 0 };

describe('verdict to reply', () => {
  it('maps each verdict to its default reply', () => {
    const table: [Question, Parameters<typeof replyForVerdict>[1], string][] = [
      [rcpt, { kind: 'accept' }, '250 2.1.5'],
      [rcpt, { kind: 'reject' }, '554 5.7.1'],
      [rcpt, { kind: 'defer' }, '451 4.3.0'],
      [rcpt, { kind: 'disconnect' }, '421 4.3.2'],
      [store, { kind: 'accept', queueId: '01JQ' }, '250 2.0.0'],
      [store, { kind: 'reject' }, '554 5.0.0'],
      [store, { kind: 'defer' }, '451 4.3.0'],
      [
        {
          kind: 'auth',
          credentials: { mechanism: 'PLAIN', authorizationId: '', username: 'a', password: 'b' },
        },
        { kind: 'reject' },
        '535 5.7.8',
      ],
      [
        {
          kind: 'auth',
          credentials: { mechanism: 'PLAIN', authorizationId: '', username: 'a', password: 'b' },
        },
        { kind: 'defer' },
        '454 4.7.0',
      ],
    ];
    for (const [q, v, expected] of table) {
      const r = replyForVerdict(q, v);
      expect(`${r.code} ${r.enhanced}`, `${q.kind} ${v.kind}`).toBe(expected);
    }
    expect(replyForVerdict(store, { kind: 'accept', queueId: '01JQ' }).lines).toEqual([
      'Ok: queued as 01JQ',
    ]);
  });

  it('never lets a host reply of the wrong class through: a defer is 4yz, a reject 5yz', () => {
    expect(
      replyForVerdict(rcpt, { kind: 'defer', reply: customReply(550, '5.1.1', 'no') }).code,
    ).toBe(451);
    expect(
      replyForVerdict(rcpt, { kind: 'reject', reply: customReply(250, '2.0.0', 'ok') }).code,
    ).toBe(554);
    expect(
      replyForVerdict(rcpt, { kind: 'disconnect', reply: customReply(554, '5.0.0', 'x') }).code,
    ).toBe(421);
    expect(
      replyForVerdict(rcpt, { kind: 'reject', reply: customReply(550, '5.1.1', 'No such user') })
        .lines,
    ).toEqual(['No such user']);
  });

  it('refuses to produce a 250 for store without a queue id', () => {
    expect(() => replyForVerdict(store, { kind: 'accept' })).toThrow(/queue id/);
    expect(() => replyForVerdict(store, { kind: 'accept', queueId: 'a\r\nb' })).toThrow(/queue id/);
  });
});
