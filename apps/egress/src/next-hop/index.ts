// One SMTP connection to a next hop: the production host of libs/smtp's
// ClientDialog (sockets, STARTTLS, RFC 5321 §4.5.3.2 timers, backpressure).
export {
  NextHopConnection,
  type NextHopOptions,
  type NextHopTarget,
  type NextHopTls,
  type OpenResult,
  type SendResult,
} from './next-hop-connection.js';
export {
  DEFAULT_TIMEOUTS,
  describeWait,
  timeoutFor,
  type NextHopTimeouts,
  type Wait,
} from './timeouts.js';
export { describeTarget, nextHopReplies, type TargetName } from './next-hop-replies.js';
export { AwaitedReplies, type AwaitedReply } from './awaited-replies.js';
export { SocketWriter } from './socket-writer.js';
