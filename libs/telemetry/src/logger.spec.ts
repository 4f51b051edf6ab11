import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger, DEFAULT_LOG_LEVEL } from './logger.js';

function capture(): { lines: () => Array<Record<string, unknown>>; destination: Writable } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    destination,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it("keeps an error's type, message, code, stack and cause, and none of the objects a driver hangs on it", () => {
    const out = capture();
    const logger = createLogger({ service: 'test', level: 'info', destination: out.destination });
    const error = Object.assign(new Error('Connection terminated unexpectedly', { cause: new TypeError('socket') }), {
      code: 'ECONNRESET',
      client: { connectionParameters: { password: 'pg-secret', host: 'db' }, secretKey: 12345 },
    });
    logger.warn({ err: error, schema: 'mesh' }, 'outbox relay idle connection lost');
    const [line] = out.lines();
    expect(line).toMatchObject({
      msg: 'outbox relay idle connection lost',
      schema: 'mesh',
      err: { type: 'Error', message: 'Connection terminated unexpectedly', code: 'ECONNRESET', cause: { type: 'TypeError' } },
    });
    expect(JSON.stringify(line)).not.toContain('pg-secret');
    expect(JSON.stringify(line)).not.toContain('secretKey');
    expect((line?.['err'] as { stack?: string }).stack).toContain('logger.spec');
  });

  it('still redacts tokens passed by mistake', () => {
    const out = capture();
    const logger = createLogger({ service: 'test', level: 'info', destination: out.destination });
    logger.info({ authorization: 'Bearer abc.def.ghi' }, 'request');
    expect(JSON.stringify(out.lines()[0])).not.toContain('abc.def.ghi');
  });
});

describe('createLogger level', () => {
  it('uses the level the caller passes and, without one, the default — never LOG_LEVEL from the environment', () => {
    const saved = process.env['LOG_LEVEL'];
    process.env['LOG_LEVEL'] = 'silent';
    try {
      const out = capture();
      const unset = createLogger({ service: 'test', destination: out.destination });
      expect(unset.level).toBe(DEFAULT_LOG_LEVEL);
      unset.info('written at the default level');
      unset.debug('below the default level');
      expect(out.lines().map((l) => l['msg'])).toEqual(['written at the default level']);
      expect(createLogger({ service: 'test', level: 'warn', destination: out.destination }).level).toBe('warn');
    } finally {
      if (saved === undefined) delete process.env['LOG_LEVEL'];
      else process.env['LOG_LEVEL'] = saved;
    }
  });
});
