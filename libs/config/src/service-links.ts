// Kubernetes service links: for every Service in its namespace, a pod gets
// variables such as PETREL_INGRESS_SERVICE_HOST=10.96.0.12 and
// PETREL_INGRESS_PORT=tcp://10.96.0.12:25 (a Service named petrel-ingress),
// which start with PETREL_ like ours. They are recognised by name and value
// and ignored, so that a release named "petrel" does not stop every pod at
// start with "unknown variable" (the chart also sets enableServiceLinks: false).
//
// Ours always separate keys with "__"; the links never do. A typo such as
// PETREL_METRICS_PORT=9464 is not a link (its value is no tcp:// URL) and
// stays an error.

import { isIP } from 'node:net';

const PORT_NUMBER = /^\d{1,5}$/;
const PROTOCOL = /^(?:TCP|UDP|SCTP)$/;
const LINK_URL = /^(?:tcp|udp|sctp):\/\/(.+):(\d{1,5})$/;

export function isServiceLink(name: string, value: string): boolean {
  if (name.includes('__')) return false;
  if (/_SERVICE_HOST$/.test(name)) return isIP(value) !== 0;
  if (/_SERVICE_PORT(?:_[A-Z0-9_]+)?$/.test(name)) return PORT_NUMBER.test(value);
  const port = /_PORT_\d{1,5}_([A-Z]+)(?:_(ADDR|PORT|PROTO))?$/.exec(name);
  if (port === null) return /_PORT$/.test(name) && isLinkUrl(value);
  if (!PROTOCOL.test(port[1] ?? '')) return false;
  switch (port[2]) {
    case undefined:
      return isLinkUrl(value);
    case 'ADDR':
      return isIP(value) !== 0;
    case 'PORT':
      return PORT_NUMBER.test(value);
    default:
      return /^(?:tcp|udp|sctp)$/.test(value);
  }
}

function isLinkUrl(value: string): boolean {
  const match = LINK_URL.exec(value);
  if (match === null) return false;
  const host = (match[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  return isIP(host) !== 0;
}
