// The client half of SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) or, when only
// that is offered, LOGIN (draft-murchison-sasl-login): which command to send
// and what to answer each 334 challenge with.
//
// Invariants: PLAIN is preferred; its initial response goes on the AUTH line
// only when that line stays within the command-line limit, otherwise after an
// empty 334 (RFC 4954 §4); each 334 gets exactly one base64 line.
//
// Does not: decide whether AUTH may be sent now (TLS, plaintext policy) or what
// a 4yz/5yz means (the client dialog does).

import { base64, plainResponse } from './client-commands.js';
import type { Reply } from './replies.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

type Step = 'plain-challenge' | 'login-username' | 'login-password' | 'final';

export type AuthStep =
  | { readonly kind: 'send'; readonly line: string }
  | { readonly kind: 'done' }
  | { readonly kind: 'violation'; readonly message: string };

export class ClientAuth {
  private constructor(
    private readonly credentials: Credentials,
    private step: Step,
    /** The AUTH command line to send first. */
    readonly command: string,
  ) {}

  /** The exchange for the offered mechanisms, or why none can be used. */
  static start(
    credentials: Credentials,
    mechanisms: readonly string[],
    commandLine: number,
  ): ClientAuth | string {
    if (mechanisms.includes('PLAIN')) {
      const initial = `AUTH PLAIN ${plainResponse(credentials.username, credentials.password)}`;
      return Buffer.byteLength(initial) + 2 <= commandLine
        ? new ClientAuth(credentials, 'final', initial)
        : new ClientAuth(credentials, 'plain-challenge', 'AUTH PLAIN');
    }
    if (mechanisms.includes('LOGIN'))
      return new ClientAuth(credentials, 'login-username', 'AUTH LOGIN');
    return mechanisms.length === 0
      ? 'the next hop offers no AUTH'
      : `no usable mechanism in AUTH ${mechanisms.join(' ')}`;
  }

  /** The next step after a 2yz or 3yz reply (the dialog handles 4yz/5yz). */
  onReply(reply: Reply): AuthStep {
    if (reply.code >= 200 && reply.code < 300) {
      return this.step === 'final'
        ? { kind: 'done' }
        : { kind: 'violation', message: `AUTH answered ${reply.code} before the last response` };
    }
    if (reply.code !== 334) return { kind: 'violation', message: `AUTH answered ${reply.code}` };
    const { username, password } = this.credentials;
    switch (this.step) {
      case 'plain-challenge':
        this.step = 'final';
        return { kind: 'send', line: plainResponse(username, password) };
      case 'login-username':
        this.step = 'login-password';
        return { kind: 'send', line: base64(username) };
      case 'login-password':
        this.step = 'final';
        return { kind: 'send', line: base64(password) };
      case 'final':
        return { kind: 'violation', message: 'AUTH sent a challenge after the last response' };
    }
  }
}
