// What ingress's configuration reload tests share (the file and log lines are
// @petrel/testing's config-file.ts): certificates with a chosen lifetime, what
// STARTTLS offers, and the expiry gauge.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { makeCertificate } from '@petrel/testing';
import { RawSmtp } from './raw-smtp.js';

export const EXPIRY_GAUGE = 'petrel_ingress_certificate_expiry_timestamp_seconds';

/** A self-signed certificate and key valid for `days` days (so that each has its own notAfter). */
export async function certificate(
  dir: string,
  name: string,
  days: number,
): Promise<{ cert: string; key: string; fingerprint: string; notAfter: number }> {
  const { cert, key } = await makeCertificate(dir, name, `${name}.petrel.test`, days);
  const x509 = new X509Certificate(readFileSync(cert));
  return {
    cert,
    key,
    fingerprint: x509.fingerprint256,
    notAfter: Math.floor(x509.validToDate.getTime() / 1000),
  };
}

/** The SHA-256 fingerprint of the certificate a new session is offered after STARTTLS. */
export async function offeredFingerprint(port: number): Promise<string> {
  const smtp = await RawSmtp.open(port);
  try {
    await smtp.reply();
    const ehlo = await smtp.command('EHLO client.test');
    if (!/^250[- ]STARTTLS$/m.test(ehlo)) return 'no STARTTLS';
    const ready = await smtp.command('STARTTLS');
    if (!ready.startsWith('220 ')) throw new Error(`STARTTLS: ${ready}`);
    smtp.socket.removeAllListeners('data');
    const secure = tlsConnect({ socket: smtp.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    const fingerprint = secure.getPeerCertificate().fingerprint256;
    secure.destroy();
    return fingerprint;
  } finally {
    smtp.close();
  }
}

/** The gauge's value in a /metrics text; null when it is absent. */
export function expiryGauge(metricsText: string): number | null {
  const match = new RegExp(`^${EXPIRY_GAUGE} (\\d+)$`, 'm').exec(metricsText);
  return match === null ? null : Number(match[1]);
}

/** The reply to RCPT TO:<to> in an open session that has said MAIL FROM already. */
export async function rcpt(smtp: RawSmtp, to: string): Promise<string> {
  return smtp.command(`RCPT TO:<${to}>`);
}

/** A session past MAIL FROM. */
export async function openTransaction(port: number): Promise<RawSmtp> {
  const smtp = await RawSmtp.open(port);
  const greeting = await smtp.reply();
  if (!greeting.startsWith('220 ')) throw new Error(`greeting: ${greeting}`);
  await smtp.command('EHLO client.test');
  const mail = await smtp.command('MAIL FROM:<sender@client.test>');
  if (mail !== '250 2.1.0 Ok') throw new Error(`MAIL: ${mail}`);
  return smtp;
}
