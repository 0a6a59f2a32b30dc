// The names of Petrel's BullMQ queues: the contract between the services.
//   transactions: ingress (and egress, for DSNs) -> routing; one job per
//                 accepted SMTP transaction (TransactionJobV1).
//   deliveries:   routing -> egress; one job per message x next hop.
//   held:         deliveries routed to `hold`; no worker reads it, an operator
//                 releases them to `deliveries`.
// Every service builds its queues on the same hash-tagged prefix (redis.prefix),
// so that a queue's keys and the bodies it references share one cluster slot.

export const QUEUES = {
  transactions: 'transactions',
  deliveries: 'deliveries',
  held: 'held',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
