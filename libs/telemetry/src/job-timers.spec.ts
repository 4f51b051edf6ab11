import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { expectEventually } from '@orgmesh/testing';
import { JobTimers } from './job-timers.js';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { lines, logger: createLogger({ service: 'jobs-test', level: 'warn', destination }) };
}

describe('JobTimers', () => {
  it('never overlaps a tick that is still running, and stop waits for it', async () => {
    const { logger } = capture();
    const timers = new JobTimers({ logger, failureMessage: 'job failed' });
    let concurrent = 0;
    let maxConcurrent = 0;
    let ticks = 0;
    timers.every('slow', 5, async () => {
      concurrent++;
      ticks++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await new Promise((resolve) => setTimeout(resolve, 40));
      concurrent--;
    });
    await expectEventually(() => expect(ticks).toBeGreaterThanOrEqual(2), { timeoutMs: 2_000 });
    await timers.stop();
    expect(maxConcurrent).toBe(1);
    expect(concurrent).toBe(0);
  });

  it('reports a failed tick with the error name and code only, and keeps running', async () => {
    const { lines, logger } = capture();
    const failures: string[] = [];
    const timers = new JobTimers({ logger, failureMessage: 'job failed', onFailure: (job) => failures.push(job) });
    let ticks = 0;
    timers.every('flaky', 5, async () => {
      ticks++;
      throw Object.assign(new Error('row for jane@example.com broke'), { code: '23505' });
    });
    await expectEventually(() => expect(ticks).toBeGreaterThanOrEqual(2), { timeoutMs: 2_000 });
    await timers.stop();
    expect(failures.every((job) => job === 'flaky')).toBe(true);
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(lines.join('')).toContain('"code":"23505"');
    expect(lines.join('')).not.toContain('jane@example.com');
  });
});
