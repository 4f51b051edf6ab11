import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { ChaosResult } from '../src/chaos/report.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TASKS = 150;

/**
 * The short variant of `npm run chaos` (issue #21): the same command and the same six faults —
 * kill -9 of each mesh-router replica, kill -9 of a sessions replica, a NATS restart with its
 * JetStream store, a Postgres immediate shutdown and restart, a mesh-router frozen for 10 s — over a
 * smaller load of 16 agents. Its own nats-server (secured with the generated NKey users) and Postgres,
 * so it shares nothing with other tests.
 */
describe('e2e: npm run chaos, short variant', () => {
  let result: ChaosResult;
  let exitCode: number | null;
  let output: string;
  let durationMs: number;

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'ignore' });
    const dir = mkdtempSync(join(tmpdir(), 'orgmesh-chaos-spec-'));
    const json = join(dir, 'result.json');
    const began = Date.now();
    ({ exitCode, output } = await new Promise<{ exitCode: number | null; output: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['e2e/dist/chaos/main.js', '--tasks', String(TASKS), '--agents', '16', '--seconds', '60', '--json', json],
        { cwd: root, maxBuffer: 16 * 1024 * 1024, timeout: 280_000 },
        (error, stdout, stderr) => resolve({ exitCode: child.exitCode ?? (error ? -1 : 0), output: `${stdout}${stderr}` }),
      );
    }));
    durationMs = Date.now() - began;
    process.stdout.write(`${output}\nchaos short variant: ${(durationMs / 1000).toFixed(0)} s\n`);
    result = JSON.parse(readFileSync(json, 'utf8')) as ChaosResult;
    rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  it('acknowledged every create, and every acknowledged task, approval and notification reached a terminal state', () => {
    expect(result.refused).toEqual([]);
    expect(result.notAcknowledged).toBe(0);
    // The load plus one probe per fault.
    expect(result.acknowledged).toBe(TASKS + 6);
    expect(result.lost).toEqual([]);
    expect(result.terminal).toBe(result.acknowledged);
  });

  it('no request was handled twice by the agents, or stored twice by the mesh', () => {
    expect(result.duplicates).toEqual([]);
    expect(result.createdTwice).toEqual([]);
    // Nothing the run did not see acknowledged sits in the mesh's table, open or otherwise.
    expect(result.tasksInDatabase).toBe(result.acknowledged);
    expect(result.openInDatabase).toBe(0);
  });

  it('every session history is a path through the sessions FSM', () => {
    expect(result.sessions).toBeGreaterThan(TASKS / 3);
    expect(result.invalidHistories).toEqual([]);
  });

  it('injected all six faults while the load ran, and the suite recovered from each', () => {
    expect(result.faults.map((f) => f.name)).toEqual([
      'kill -9 mesh-router-1',
      'kill -9 sessions-1',
      'restart NATS (JetStream store kept)',
      'kill -9 mesh-router-2',
      'restart Postgres (pg_ctl stop -m immediate)',
      'freeze mesh-router-1 10 s (SIGSTOP/SIGCONT)',
    ]);
    for (const fault of result.faults) {
      expect([fault.name, fault.underLoad, fault.recoveryMs !== null]).toEqual([fault.name, true, true]);
    }
  });

  it('dead-lettered both poison messages published after the NATS restart, each with its reason, and their consumers went on', () => {
    expect(result.poison.map((p) => [p.name, p.deadLetters.length > 0])).toEqual([
      ['not JSON, in the engineering role inbox', true],
      ['a task-updated event that is not the contract', true],
    ]);
    for (const poison of result.poison)
      for (const letter of poison.deadLetters) expect([poison.name, letter.reason]).toEqual([poison.name, poison.expectedReason]);
  });

  it('ran on a secured bus, as npm start and the production overlay run it: every process with its own NKey, anonymous clients refused to the end', () => {
    // Every service, agent and SDK client connected with its own seed (a refused one would have
    // stopped the suite at start or lost the load); the restarted server still refuses strangers.
    expect(result.anonymousRefused).toBe(true);
    expect(output).toMatch(/\(secured: an NKey per identity\)/);
  });

  it('printed the table and exited 0', () => {
    expect(output).toMatch(/LOST \(acknowledged, never terminal\)\s+\| 0 /);
    expect(output).toMatch(/verdict\s+\| PASS/);
    expect(exitCode).toBe(0);
  });
});
