// A parsed SMTP path as the DSN writes an address: the mailbox without angle
// brackets and without a source route (RFC 5321 §3.3 and Appendix C: a
// relay may ignore the route, and a reply goes to the mailbox), in the
// canonical form egress replays (formatMailbox).
//
// Does not: accept the null reverse-path. A message from <> gets no DSN
// (RFC 5321 §4.5.5, RFC 3464 §2.1); a caller asking for one has a bug.

import { formatMailbox, type Path } from '@petrel/smtp';
import { invalid } from './dsn-error.js';

export function dsnAddress(path: Path): string {
  if (path.mailbox === null) throw invalid('the null reverse-path <> gets no DSN');
  return formatMailbox(path.mailbox);
}
