import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { createLogger } from '@orgmesh/telemetry';
import { jobRunsCounter } from './job-metrics.js';
import { ServiceJobs } from './service-jobs.js';

function setup() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ service: 'jobs-test', level: 'warn', destination });
  const registry = new Registry();
  const jobRuns = jobRunsCounter(registry, 'jobs_test');
  const jobs = new ServiceJobs({ logger, jobRuns, failureMessage: 'test job failed' });
  const runs = async (job: string, result: string) =>
    (await jobRuns.get()).values.find((v) => v.labels.job === job && v.labels.result === result)?.value ?? 0;
  return { lines, jobs, runs };
}

describe('ServiceJobs', () => {
  it('runs the first tick of everyFromNow at once, not after an interval, and stop waits for it', async () => {
    const { jobs } = setup();
    let ticks = 0;
    let finished = false;
    jobs.everyFromNow('sweep', 60_000, async () => {
      ticks++;
      await new Promise((resolve) => setTimeout(resolve, 30));
      finished = true;
    });
    expect(ticks).toBe(1);
    await jobs.stop();
    expect(finished).toBe(true);
  });

  it('counts and logs a failed first tick like a failed interval tick: name and code, never the message', async () => {
    const { jobs, lines, runs } = setup();
    jobs.everyFromNow('sweep', 60_000, async () => {
      throw Object.assign(new Error('row for jane@example.com broke'), { code: '40001' });
    });
    await jobs.stop();
    expect(await runs('sweep', 'failed')).toBe(1);
    const log = lines.join('');
    expect(log).toContain('test job failed');
    expect(log).toContain('"code":"40001"');
    expect(log).not.toContain('jane@example.com');
  });

  it('counts runs as ran or skipped, and refuses a retention run it has no job for', async () => {
    const { jobs, runs } = setup();
    jobs.recordRun('sweep', true);
    jobs.recordRun('sweep', false);
    jobs.recordRun('sweep', false);
    expect(await runs('sweep', 'ran')).toBe(1);
    expect(await runs('sweep', 'skipped')).toBe(2);
    await expect(jobs.retainOnce()).rejects.toThrow('no retention job');
  });

  it('start schedules the declared jobs: a fromStart job runs at once, the others after one interval', async () => {
    const { jobs } = setup();
    const ran: string[] = [];
    jobs.schedule(
      { name: 'sweep', intervalMs: 60_000, run: async () => ran.push('sweep'), fromStart: true },
      { name: 'refresh', intervalMs: 60_000, run: async () => ran.push('refresh') },
    );
    expect(ran).toEqual([]);
    jobs.start();
    await jobs.stop();
    expect(ran).toEqual(['sweep']);
  });
});
