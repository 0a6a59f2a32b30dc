// @petrel/smtp: the pure SMTP protocol core. No sockets, timers, clock or
// randomness: bytes and answers in, replies and actions out.
export * from './limits.js';
export * from './replies.js';
export * from './types.js';
export * from './reply-format.js';
export * from './reply-parser.js';
export * from './line-reader.js';
export * from './data-reader.js';
export * from './dot-stuff.js';
export {
  parsePath,
  formatPath,
  formatMailbox,
  type PathError,
  type PathOptions,
  type PathResult,
} from './path-parser.js';
export {
  parseCommand,
  VERBS,
  type Verb,
  type Command,
  type ParseContext,
  type ParseResult,
} from './command-parser.js';
export { formatMailParameters, encodeXtext, decodeXtext } from './mail-parameters.js';
export { parseAddressLiteral } from './address-literal.js';
export * from './sasl.js';
export * from './server-questions.js';
export * from './server-session.js';
export * from './extensions.js';
export * from './client-types.js';
export * from './client-dialog.js';
export { clientReplies } from './client-replies.js';
