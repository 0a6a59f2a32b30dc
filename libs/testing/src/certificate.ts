// Throwaway TLS material for tests: a self-signed EC certificate made with the
// openssl command line, valid for a day (or `days`), for its CN and 127.0.0.1.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A self-signed certificate and key for `cn`, valid `days`, written to dir/<name>.{cert,key}.pem; their paths. */
export async function makeCertificate(
  dir: string,
  name = 'tls',
  cn = 'mx.petrel.test',
  days = 1,
): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.cert.pem`);
  const key = join(dir, `${name}.key.pem`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    String(days),
    '-subj',
    `/CN=${cn}`,
    '-addext',
    `subjectAltName=DNS:${cn},IP:127.0.0.1`,
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
}
