import { describe, expect, it } from 'vitest';
import { NO_EXTENSIONS, parseEhloReply } from './extensions.js';

describe('parseEhloReply', () => {
  it('reads the keywords a typical next hop offers', () => {
    const ext = parseEhloReply([
      'mx.example.test Hello client.test [192.0.2.1]',
      'SIZE 10240000',
      'PIPELINING',
      '8BITMIME',
      'SMTPUTF8',
      'STARTTLS',
      'AUTH PLAIN LOGIN',
      'ENHANCEDSTATUSCODES',
      'DSN',
      'CHUNKING',
    ]);
    expect(ext).toMatchObject({
      esmtp: true,
      size: true,
      maxSize: 10240000,
      pipelining: true,
      eightBitMime: true,
      smtputf8: true,
      startTls: true,
      auth: ['PLAIN', 'LOGIN'],
      enhancedStatusCodes: true,
    });
    expect(ext.keywords.get('DSN')).toEqual([]);
    expect(ext.keywords.get('CHUNKING')).toEqual([]);
    // The first line is the greeting, never a keyword.
    expect(ext.keywords.has('MX.EXAMPLE.TEST')).toBe(false);
  });

  it('upper-cases keywords and mechanisms, and reads the old AUTH= form', () => {
    const ext = parseEhloReply([
      'mx',
      'pipelining',
      'auth=login cram-md5',
      'Auth plain LOGIN',
      '8bitmime',
    ]);
    expect(ext.pipelining).toBe(true);
    expect(ext.eightBitMime).toBe(true);
    expect(ext.auth).toEqual(['LOGIN', 'CRAM-MD5', 'PLAIN']);
    expect(ext.keywords.get('AUTH')).toEqual(['login', 'cram-md5', 'plain', 'LOGIN']);
  });

  it('reads SIZE without a number, or 0, as no fixed maximum', () => {
    expect(parseEhloReply(['mx', 'SIZE'])).toMatchObject({ size: true, maxSize: null });
    expect(parseEhloReply(['mx', 'SIZE 0'])).toMatchObject({ size: true, maxSize: null });
    expect(parseEhloReply(['mx', 'SIZE lots'])).toMatchObject({ size: true, maxSize: null });
    expect(parseEhloReply(['mx'])).toMatchObject({ size: false, maxSize: null });
  });

  it('ignores lines that are not keywords and tolerates tabs and extra spaces', () => {
    const ext = parseEhloReply(['mx', '', '  ', '-bad', 'SIZE\t\t1000  ', 'X_UNDERSCORE']);
    expect([...ext.keywords.keys()]).toEqual(['SIZE']);
    expect(ext.maxSize).toBe(1000);
  });

  it('has an empty set for HELO', () => {
    expect(NO_EXTENSIONS).toMatchObject({
      esmtp: false,
      pipelining: false,
      auth: [],
      maxSize: null,
    });
    expect(parseEhloReply(['only the greeting']).keywords.size).toBe(0);
  });
});
