import { afterEach, describe, expect, it } from '@jest/globals';
import { expectEventually } from '@orgmesh/testing';
// @ts-expect-error: a plain .mjs script of npm start, without type declarations
import { Supervisor, backoffDelay, SUPERVISOR_DEFAULTS } from './supervisor.mjs';

const node = process.execPath;
/** A service that runs until stopped. */
const LONG_RUNNING = {
  command: node,
  args: ['-e', 'setInterval(() => {}, 1000)'],
  options: { stdio: 'ignore' },
};
/** A service that crashes at once with exit code 3. */
const CRASHING = { command: node, args: ['-e', 'process.exit(3)'], options: { stdio: 'ignore' } };

const alive = (pid: number | undefined): boolean => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const supervisors: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of supervisors.splice(0)) await s.stop();
});

function supervisor(options: Record<string, unknown> = {}) {
  const lines: string[] = [];
  const gaveUp: Array<{ name: string; reason: string }> = [];
  const s = new Supervisor({
    log: (line: string) => lines.push(line),
    onGiveUp: (name: string, reason: string) => gaveUp.push({ name, reason }),
    initialDelayMs: 50,
    ...options,
  });
  supervisors.push(s);
  return { s, lines, gaveUp };
}

describe('Supervisor (npm start)', () => {
  it('restarts a service killed with SIGKILL and says which, how it died, the restart number and the delay', async () => {
    const { s, lines, gaveUp } = supervisor();
    s.add('mesh-router', LONG_RUNNING);
    s.add('sessions', LONG_RUNNING);
    const first = s.child('mesh-router');
    const other = s.child('sessions').pid;
    await new Promise((resolve) => first.once('spawn', resolve));
    process.kill(first.pid, 'SIGKILL');
    await expectEventually(
      () => expect(lines.some((l: string) => /^mesh-router restarted \(pid \d+/.test(l))).toBe(true),
      {
        timeoutMs: 10_000,
      },
    );
    expect(lines[0]).toBe('mesh-router exited (signal SIGKILL); restart 1 in 50 ms');
    const second = s.child('mesh-router');
    expect(second.pid).not.toBe(first.pid);
    expect(alive(second.pid)).toBe(true);
    // The rest of the suite was not touched.
    expect(alive(other)).toBe(true);
    expect(gaveUp).toEqual([]);
  });

  it('gives up on a crash loop with a reason naming the service, and does not restart it again', async () => {
    const { s, lines, gaveUp } = supervisor({
      initialDelayMs: 10,
      crashLoopCount: 3,
      crashLoopWindowMs: 60_000,
    });
    s.add('registry', CRASHING);
    await expectEventually(() => expect(gaveUp).toHaveLength(1), { timeoutMs: 10_000 });
    expect(gaveUp[0]).toEqual({
      name: 'registry',
      reason: 'registry crashed 3 times within 60 s (last: exit code 3)',
    });
    expect(lines.filter((l: string) => l.startsWith('registry exited (exit code 3); restart'))).toEqual([
      'registry exited (exit code 3); restart 1 in 10 ms',
      'registry exited (exit code 3); restart 2 in 20 ms',
    ]);
    const count = lines.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(lines).toHaveLength(count);
  });

  it('backs off exponentially up to the maximum', () => {
    const options = { initialDelayMs: 500, maxDelayMs: 30_000 };
    expect([1, 2, 3, 4, 7, 8, 20].map((n) => backoffDelay(n, options))).toEqual([
      500, 1_000, 2_000, 4_000, 30_000, 30_000, 30_000,
    ]);
    expect(SUPERVISOR_DEFAULTS).toMatchObject({ crashLoopCount: 5, crashLoopWindowMs: 60_000 });
  });

  it('starts the backoff afresh for a service that stayed up past stableAfterMs', async () => {
    let now = 0;
    const { s, lines } = supervisor({ now: () => now, initialDelayMs: 10 });
    s.add('gateway', LONG_RUNNING);
    for (const elapsed of [1_000, 1_000, 60_000]) {
      const child = s.child('gateway');
      await new Promise((resolve) => (child.pid ? resolve(undefined) : child.once('spawn', resolve)));
      const before = lines.length;
      now += elapsed;
      process.kill(child.pid, 'SIGKILL');
      await expectEventually(() => expect(lines.length).toBeGreaterThanOrEqual(before + 2), {
        timeoutMs: 10_000,
      });
    }
    expect(
      lines
        .filter((l: string) => l.startsWith('gateway exited'))
        .map((l: string) => /restart (\d+)/.exec(l)?.[1]),
    ).toEqual(['1', '2', '1']);
  });

  it('stop() ends every service and restarts none', async () => {
    const { s, lines } = supervisor();
    s.add('a', LONG_RUNNING);
    s.add('b', LONG_RUNNING);
    const pids = [s.child('a'), s.child('b')];
    await Promise.all(
      pids.map((c) => new Promise((resolve) => (c.pid ? resolve(undefined) : c.once('spawn', resolve)))),
    );
    await s.stop();
    expect(pids.map((c) => alive(c.pid))).toEqual([false, false]);
    await new Promise((r) => setTimeout(r, 200));
    expect(lines).toEqual([]);
  });
});
