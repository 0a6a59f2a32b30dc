// The two SASL mechanisms the receiver offers, PLAIN (RFC 4616) and LOGIN
// (draft-murchison-sasl-login), as pure decoders of the base64 lines of an
// AUTH exchange (RFC 4954 §4). Verifying the credentials is the host's job.
//
// Does not: compare passwords, count failures, or decide whether AUTH may be
// used on this connection (the server session does).

export type SaslMechanism = 'PLAIN' | 'LOGIN';
export const SASL_MECHANISMS: readonly SaslMechanism[] = ['PLAIN', 'LOGIN'];

export interface SaslCredentials {
  readonly mechanism: SaslMechanism;
  /** PLAIN's authzid; empty when absent (and always for LOGIN). */
  readonly authorizationId: string;
  readonly username: string;
  readonly password: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes one client response of an AUTH exchange. "=" is the empty initial
 * response of RFC 4954 §4. Returns null when the text is not base64.
 */
export function decodeSaslResponse(text: string): string | null {
  if (text === '=') return '';
  if (!BASE64.test(text)) return null;
  return Buffer.from(text, 'base64').toString('utf8');
}

export function encodeSaslChallenge(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** RFC 4616 §2: message = [authzid] NUL authcid NUL passwd. Null when malformed. */
export function parsePlainResponse(decoded: string): SaslCredentials | null {
  const parts = decoded.split('\0');
  if (parts.length !== 3) return null;
  const [authorizationId, username, password] = parts as [string, string, string];
  if (username === '' || password === '') return null;
  return { mechanism: 'PLAIN', authorizationId, username, password };
}

/** LOGIN's two challenges, "Username:" and "Password:". */
export const LOGIN_USERNAME_CHALLENGE = encodeSaslChallenge('Username:');
export const LOGIN_PASSWORD_CHALLENGE = encodeSaslChallenge('Password:');
