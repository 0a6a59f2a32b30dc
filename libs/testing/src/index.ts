// @petrel/testing: the harness Petrel's tests share. Real Redis (REDIS_URL,
// testcontainers, or a spawned redis-server), free ports, and fresh key
// prefixes so that tests never see each other's data; and the SMTP transcript
// format (transcript.ts) that one dialog file is run with, in memory and over TCP.
export { startRedis, type RedisOptions } from './start-redis.js';
export type { RedisHandle } from './redis-handle.js';
export type { RedisConfigOptions } from './redis-args.js';
export { spawnRedis, type SpawnOptions } from './redis-process.js';
export { dockerAnswers, REDIS_IMAGE } from './redis-container.js';
export { freePort } from './free-port.js';
export { uniquePrefix } from './unique-prefix.js';
export {
  HOST_QUESTIONS,
  matchReplyLine,
  parseTranscript,
  unescapeBytes,
  type HostQuestion,
  type Step,
} from './transcript.js';
export { makeCertificate } from './certificate.js';
export {
  startDnsServer,
  type DnsServerOptions,
  type TestBehaviour,
  type TestDnsQuery,
  type TestDnsServer,
  type TestRecord,
} from './dns-server.js';
export {
  DNSMASQ_INSTALL_HINT,
  dnsmasqBinary,
  dnsmasqConfig,
  startDnsmasq,
  type DnsmasqHandle,
  type DnsmasqOptions,
} from './dnsmasq.js';
export {
  REPOSITORY_ROOT,
  ensureBuilt,
  ensureServiceBuilt,
  killServices,
  spawnService,
  type ServiceProcess,
} from './service-process.js';
export {
  startTestSink,
  type SinkAction,
  type SinkFault,
  type SinkMessage,
  type SinkOptions,
  type SinkStage,
  type TestSink,
} from './test-sink.js';
export { eventually } from './eventually.js';
export { SmtpDialog } from './smtp-dialog.js';
export {
  forgetPid,
  killRecorded,
  recordedPids,
  rememberPid,
  unwatchPids,
  watchPids,
} from './pid-watchdog.js';
export {
  startRedisCluster,
  type RedisCluster,
  type RedisClusterNode,
  type RedisClusterOptions,
} from './redis-cluster.js';
export {
  startSentinelGroup,
  type SentinelGroup,
  type SentinelGroupOptions,
} from './sentinel-group.js';
export { captureLog, logLines, replaceFile, writeConfig, type LogLine } from './config-file.js';
