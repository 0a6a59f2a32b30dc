import { hostname } from 'node:os';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

/** A logger writing into memory, and its lines parsed. */
function capture(level?: string) {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  const logger = createLogger({ service: 'ingress', destination: stream, level });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines };
}

describe('createLogger', () => {
  it('writes one JSON object per line with service, pid, hostname, ISO time and level name', () => {
    const { logger, lines } = capture();
    logger.info({ id: '01J0000000', recipients: 2 }, 'queued');
    const [line, ...rest] = lines();
    expect(rest).toEqual([]);
    expect(line).toMatchObject({
      level: 'info',
      service: 'ingress',
      pid: process.pid,
      hostname: hostname(),
      id: '01J0000000',
      recipients: 2,
      msg: 'queued',
    });
    expect(new Date(line?.time as string).toISOString()).toBe(line?.time);
  });

  it('logs at info and above by default', () => {
    const { logger, lines } = capture();
    logger.debug('hidden');
    logger.info('shown');
    logger.error('shown too');
    expect(lines().map((line) => [line.level, line.msg])).toEqual([
      ['info', 'shown'],
      ['error', 'shown too'],
    ]);
  });

  it('takes the configured level', () => {
    const { logger, lines } = capture('trace');
    logger.trace('fine detail');
    expect(lines()).toMatchObject([{ level: 'trace', msg: 'fine detail' }]);
    const quiet = capture('silent');
    quiet.logger.fatal('nothing');
    expect(quiet.lines()).toEqual([]);
  });

  it('serialises errors under err', () => {
    const { logger, lines } = capture();
    logger.error({ err: new Error('redis down') }, 'store failed');
    expect(lines()[0]?.err).toMatchObject({ type: 'Error', message: 'redis down' });
    expect((lines()[0]?.err as { stack: string }).stack).toContain('redis down');
  });

  it('keeps the base fields in child loggers', () => {
    const { logger, lines } = capture();
    logger.child({ session: 's1' }).warn('slow client');
    expect(lines()[0]).toMatchObject({ service: 'ingress', session: 's1', level: 'warn' });
  });

  it('refuses an unknown level, naming the known ones', () => {
    expect(() => createLogger({ service: 'x', level: 'loud' })).toThrow(
      'unknown log level "loud" (one of trace, debug, info, warn, error, fatal, silent)',
    );
  });

  it('writes to stdout by default', () => {
    expect(() => createLogger({ service: 'x', level: 'silent' })).not.toThrow();
  });
});
