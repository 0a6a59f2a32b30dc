// @petrel/queue: the contract between Petrel's services on Redis (queue
// names, versioned job payloads, body keys) and the store path whose success
// alone allows ingress to answer 250 (body + job + durability on one connection).
export { QUEUES, type QueueName } from './queues.js';
export {
  TRANSACTION_JOB_NAME,
  assertSafeEnvelope,
  bodyKey,
  newMessageId,
  type TransactionJobV1,
} from './transaction-job.js';
export {
  createRedis,
  createWorkerRedis,
  whenReady,
  type CreateRedisOptions,
} from './redis-client.js';
export {
  durabilityProblems,
  failoverRisks,
  inspectRedis,
  parseInfo,
  type Durability,
  type RedisFacts,
} from './redis-facts.js';
export { awaitDurability, durabilityStep, type DurabilityStep } from './durability.js';
export { StoreError, toStoreError, type StoreFailure } from './store-error.js';
export {
  TransactionStore,
  type StoreOptions,
  type TransactionRecord,
  type TransactionStoreOptions,
} from './transaction-store.js';
export {
  DELIVERY_JOB_NAME,
  DELIVERY_JOB_OPTIONS,
  deliveryJobId,
  refsKey,
  routedKey,
  type DeliveryHop,
  type DeliveryJobV1,
  type DeliveryRecipient,
  type DeliveryReply,
  type DeliveryRecipientState,
} from './delivery-job.js';
export { adjustRefs, defineAdjustRefs, queueAdjustRefs } from './message-refs.js';
export { execMulti } from './multi-scripts.js';
export { TRANSACTION_JOB_OPTIONS } from './transaction-store.js';
export { prefixOfBodyKey, shardPrefixes } from './shards.js';
export { ShardedStore, type MessageStore, type StoreShard } from './sharded-store.js';
export { hashSlot } from './hash-slot.js';
export {
  bounceFor,
  failedRecipient,
  makeBounce,
  queueTransaction,
  readHeaders,
  type Bounce,
  type BounceForInput,
  type BounceInput,
  type FailedRecipient,
} from './bounce.js';
export { ConnectionPool, type ConnectionPoolOptions } from './connection-pool.js';
export { GroupCommit, type Fill, type GroupCommitOptions } from './group-commit.js';
export { LeasedSlots, type LeasedSlot, type LeasedSlotsOptions } from './leased-slots.js';
export { closeWorker, UNLIMITED, workerOptions } from './worker-options.js';
export {
  EVENTS_PER_MESSAGE,
  EVENTS_TTL_SECONDS,
  eventLogFields,
  eventsKey,
  queueEvent,
  readEvents,
  recordEvent,
  type MessageEvent,
} from './message-events.js';
export { sweepOrphanBodies, type SweepOptions } from './orphan-sweeper.js';
export { ServiceRedis, type ServiceRedisOptions } from './service-redis.js';
export {
  PRESENCE_EVERY_MS,
  PRESENCE_STALE_MS,
  presenceKey,
  readPresence,
  startPresence,
  type Presence,
  type PresenceRecord,
} from './presence.js';
export { STAT_NAMES, queueStats, readStats, statsKey, type StatName } from './queue-stats.js';
export {
  DEFERRAL_REASONS,
  deferralReason,
  destinationLabel,
  type DeferralReason,
} from './deferral-reason.js';
