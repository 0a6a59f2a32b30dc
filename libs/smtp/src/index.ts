// @petrel/smtp: the pure SMTP protocol core. No sockets, timers, clock or
// randomness: bytes and answers in, replies and actions out.
export * from './limits.js';
export * from './replies.js';
export * from './types.js';
export * from './line-reader.js';
export * from './data-reader.js';
export * from './dot-stuff.js';
