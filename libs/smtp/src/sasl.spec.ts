import { describe, expect, it } from 'vitest';
import {
  decodeSaslResponse,
  LOGIN_PASSWORD_CHALLENGE,
  LOGIN_USERNAME_CHALLENGE,
  parsePlainResponse,
} from './sasl.js';

describe('SASL PLAIN and LOGIN decoding', () => {
  it('decodes base64 responses and the empty "=" response; refuses what is not base64', () => {
    expect(decodeSaslResponse('YWxpY2U=')).toBe('alice');
    expect(decodeSaslResponse('=')).toBe('');
    expect(decodeSaslResponse('not base64')).toBeNull();
    expect(decodeSaslResponse('YWxpY2U')).toBeNull();
  });

  it('splits PLAIN into authzid, authcid and password (RFC 4616 §2)', () => {
    expect(parsePlainResponse('\0alice\0secret')).toEqual({
      mechanism: 'PLAIN',
      authorizationId: '',
      username: 'alice',
      password: 'secret',
    });
    expect(parsePlainResponse('admin\0alice\0secret')?.authorizationId).toBe('admin');
    expect(parsePlainResponse('alice\0secret')).toBeNull();
    expect(parsePlainResponse('\0\0secret')).toBeNull();
    expect(parsePlainResponse('\0alice\0')).toBeNull();
  });

  it('uses the customary LOGIN challenges', () => {
    expect(Buffer.from(LOGIN_USERNAME_CHALLENGE, 'base64').toString()).toBe('Username:');
    expect(Buffer.from(LOGIN_PASSWORD_CHALLENGE, 'base64').toString()).toBe('Password:');
  });
});
