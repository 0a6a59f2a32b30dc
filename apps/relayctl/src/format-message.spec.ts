import type { AdminEvent } from '@petrel/proto';
import { describe, expect, it } from 'vitest';
import { NOW, ago, entry, recipient, reply } from '../test/fixtures.js';
import { eventDetails, formatList, formatShow, formatTrace } from './format-message.js';

const deferred = entry({
  id: '01M84TT0D1PARSWGMTDQNZX6CZ.2',
  state: 'deferred',
  sender: '',
  recipients: [
    recipient('x@b.test', { state: 'deferred', lastReply: reply({ at: ago(60) }) }),
    recipient('y@b.test', {
      state: 'deferred',
      lastReply: reply({ text: 'Greylisted, come back later', at: ago(20) }),
    }),
    recipient('z@b.test', {
      state: 'delivered',
      lastReply: reply({ code: 250, enhanced: '2.0.0', text: 'Ok', at: ago(10) }),
    }),
  ],
  domain: 'b.test',
  attempts: 2,
  nextAttemptAt: ago(-240),
});

describe('formatList', () => {
  it('shows one entry a line, the first recipient +N and the latest open reply', () => {
    expect(formatList([entry(), deferred], { nowMs: NOW })).toBe(
      [
        'ID                            STATE     AGE  FROM                TO           DOMAIN  ATTEMPTS  NEXT   LAST REPLY',
        '01M84TT0D1PARSWGMTDQNZX6CZ.1  queued     5m  sender@client.test  x@a.test     a.test         0  -      -',
        '01M84TT0D1PARSWGMTDQNZX6CZ.2  deferred   5m  <>                  x@b.test +2  b.test         2  in 4m  451 4.3.0 Greylisted, come back later',
        '',
      ].join('\n'),
    );
  });

  it('cuts the last reply to the terminal’s width, down to 12 characters', () => {
    const lines = formatList([deferred], { nowMs: NOW, width: 105 }).split('\n');
    expect(lines[1]).toHaveLength(105);
    expect(lines[1]!.endsWith('  451 4.3.0 Greyl…')).toBe(true);
    const narrow = formatList([deferred], { nowMs: NOW, width: 40 }).split('\n');
    expect(narrow[1]!.endsWith('  in 4m  451 4.3.0 G…')).toBe(true);
  });
});

describe('formatShow', () => {
  it('shows how the message came, its body, and each entry with each recipient', () => {
    const text = formatShow(
      {
        messageId: '01M84TT0D1PARSWGMTDQNZX6CZ',
        entries: [deferred],
        receivedFrom: '192.0.2.9',
        helo: 'client.test',
        tls: 'TLSv1.3',
        auth: '',
        ingress: 'vm:200',
        bodyStored: true,
        bodyRefs: 1,
      },
      { nowMs: NOW },
    );
    expect(text).toBe(
      [
        'message 01M84TT0D1PARSWGMTDQNZX6CZ',
        '  received  2026-11-23T16:15:00.000Z (5m ago)',
        '  from      client 192.0.2.9, HELO client.test, TLS TLSv1.3',
        '  ingress   vm:200',
        '  body      stored, needed by 1 entry',
        '',
        'entry 01M84TT0D1PARSWGMTDQNZX6CZ.2',
        '  state         deferred (queue deliveries)',
        '  from          <>',
        '  received      2026-11-23T16:15:00.000Z (5m ago)',
        '  size          410 B',
        '  origin        smtp',
        '  domain        b.test',
        '  next hops     mx.a.test:25',
        '  attempts      2',
        '  next attempt  2026-11-23T16:24:00.000Z (in 4m)',
        '  recipients',
        '    RECIPIENT  STATE      LAST REPLY',
        '    x@b.test   deferred   451 4.3.0 Try again later (mx.a.test[192.0.2.1]:25, 1m ago)',
        '    y@b.test   deferred   451 4.3.0 Greylisted, come back later (mx.a.test[192.0.2.1]:25, 20s ago)',
        '    z@b.test   delivered  250 2.0.0 Ok (mx.a.test[192.0.2.1]:25, 10s ago)',
        '',
      ].join('\n'),
    );
  });

  it('says when nothing is left in the queue', () => {
    const text = formatShow(
      {
        messageId: 'X',
        entries: [],
        receivedFrom: '',
        helo: '',
        tls: '',
        auth: '',
        ingress: '',
        bodyStored: false,
        bodyRefs: 0,
      },
      { nowMs: NOW },
    );
    expect(text).toContain('body  not stored (delivered, bounced or deleted)');
    expect(text).toContain('No entry is left in the queue: see relayctl trace');
  });
});

const event = (name: string, fields: Record<string, unknown>): AdminEvent => {
  const json = { event: name, service: 'svc', instance: 'vm:1', at: ago(0), ...fields };
  return { event: name, service: 'svc', instance: 'vm:1', at: json.at, json: JSON.stringify(json) };
};

describe('eventDetails', () => {
  it('received: client, HELO, TLS, sender, recipients, size', () => {
    expect(
      eventDetails(
        event('received', {
          client: '127.0.0.1',
          helo: 'client.test',
          tls: null,
          auth: null,
          from: 'sender@client.test',
          to: ['x@a.test', 'y@b.test'],
          size: 410,
        }),
      ),
    ).toBe(
      'client=127.0.0.1 helo=client.test from=<sender@client.test> to=x@a.test,y@b.test size=410',
    );
  });

  it('routed: each delivery with its hops and recipients, what bounced or waits', () => {
    expect(
      eventDetails(
        event('routed', {
          job: 'M',
          deliveries: [
            { id: 'M.1', hops: ['127.0.0.1:2626'], recipients: ['x@a.test', 'y@b.test'] },
          ],
          held: [],
          bounced: [
            {
              to: 'z@c.test',
              reply: { code: 550, enhanced: '5.1.2', text: 'Domain c.test does not exist' },
            },
          ],
          deferred: [],
          retryAt: null,
          dsn: 'D',
        }),
      ),
    ).toBe(
      'M.1 → 127.0.0.1:2626 for x@a.test,y@b.test; bounced z@c.test: 550 5.1.2 Domain c.test does not exist; DSN D',
    );
  });

  it('attempt: each recipient, its state and reply, and the next attempt', () => {
    expect(
      eventDetails(
        event('attempt', {
          delivery: 'M.1',
          attempt: 1,
          recipients: [
            {
              to: 'x@a.test',
              state: 'deferred',
              reply: {
                code: 451,
                enhanced: '4.0.0',
                text: 'Injected fault at rcpt',
                host: 'h[127.0.0.1]:2626',
              },
            },
          ],
          nextAttemptAt: '2026-11-23T16:20:01.000Z',
          dsn: null,
        }),
      ),
    ).toBe(
      'M.1 attempt 1; x@a.test deferred: 451 4.0.0 Injected fault at rcpt (h[127.0.0.1]:2626); next attempt 2026-11-23T16:20:01.000Z',
    );
  });

  it('delivered, deferred, bounced by egress: the delivery, its recipients, the next attempt or DSN', () => {
    expect(
      eventDetails(
        event('deferred', {
          delivery: 'M.1',
          recipients: ['x@a.test', 'y@a.test'],
          nextAttemptAt: 'T',
        }),
      ),
    ).toBe('M.1: x@a.test,y@a.test; next attempt T');
    expect(
      eventDetails(event('bounced', { delivery: 'M.1', recipients: ['x@a.test'], dsn: 'D' })),
    ).toBe('M.1: x@a.test; DSN D');
    expect(
      eventDetails(
        event('bounced', { entry: 'M.1', by: 'me', recipients: ['x@a.test'], dsn: 'D' }),
      ),
    ).toBe('entry=M.1 by=me recipients=x@a.test dsn=D');
  });

  it('anything else: its own fields as key=value', () => {
    expect(
      eventDetails(event('held', { entry: 'M.1', by: 'alice@ops1 (local)', reason: 'too fast' })),
    ).toBe('entry=M.1 by="alice@ops1 (local)" reason="too fast"');
    expect(eventDetails({ ...event('x', {}), json: 'not json' })).toBe('not json');
  });
});

describe('formatTrace', () => {
  it('prints one line per event: time, service, instance, event, details', () => {
    const text = formatTrace({
      messageId: 'M',
      events: [event('held', { entry: 'M.1', by: 'me' })],
    });
    expect(text).toBe(
      [
        'message M',
        'TIME                      SERVICE  INSTANCE  EVENT  DETAILS',
        '2026-11-23T16:20:00.000Z  svc      vm:1      held   entry=M.1 by=me',
        '',
      ].join('\n'),
    );
  });
});
