// What a DSN reports, taken as a whole: the worst action among its recipients
// decides the Subject and the opening of the human text.
//
// Order (worst first): failed, delayed, then the successes (delivered,
// relayed, expanded), RFC 3464 §2.3.3.

import type { DsnAction, DsnRecipient } from './types.js';

export type Outcome = 'failed' | 'delayed' | 'success';

export const ACTIONS: readonly DsnAction[] = [
  'failed',
  'delayed',
  'delivered',
  'relayed',
  'expanded',
];

export function outcomeOf(recipients: readonly DsnRecipient[]): Outcome {
  if (recipients.some((r) => r.action === 'failed')) return 'failed';
  if (recipients.some((r) => r.action === 'delayed')) return 'delayed';
  return 'success';
}

export const SUBJECTS: Readonly<Record<Outcome, string>> = {
  failed: 'Undelivered Mail Returned to Sender',
  delayed: 'Delayed Mail (still being retried)',
  success: 'Successful Mail Delivery Report',
};
