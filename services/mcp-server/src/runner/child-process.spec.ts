import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually } from '@orgmesh/testing';
import { SupervisedCommand, describeExit, exitStatusOf } from './child-process.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function supervise(script: string, terminal: { out: string[] } = { out: [] }) {
  const dir = await mkdtemp(join(tmpdir(), 'orgmesh-child-'));
  dirs.push(dir);
  const sink = {
    write: (chunk: Buffer) => (terminal.out.push(chunk.toString()), true),
  } as unknown as NodeJS.WritableStream;
  return new SupervisedCommand({
    command: process.execPath,
    args: ['-e', script],
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '' },
    logDir: join(dir, 'logs'),
    stdout: sink,
    stderr: null,
    inheritStdin: false,
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('SupervisedCommand', () => {
  it('logs both streams to files and copies stdout to the terminal', async () => {
    const terminal = { out: [] as string[] };
    const cmd = await supervise("console.log('out'); console.error('err'); process.exit(4)", terminal);
    expect(await cmd.started).toBeGreaterThan(0);
    const exit = await cmd.exited;
    expect(exit).toEqual({ kind: 'exited', code: 4, signal: null });
    expect(await readFile(cmd.stdoutLog, 'utf8')).toBe('out\n');
    expect(await readFile(cmd.stderrLog, 'utf8')).toBe('err\n');
    expect(terminal.out.join('')).toBe('out\n');
    expect(cmd.running).toBe(false);
  });

  it('stops the whole process group: SIGTERM, then SIGKILL for what ignores it', async () => {
    const terminal = { out: [] as string[] };
    const cmd = await supervise(
      "process.on('SIGTERM', () => console.log('ignored')); const c = require('node:child_process').spawn('sleep', ['300'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);",
      terminal,
    );
    await cmd.started;
    await new Promise<void>((resolve) => {
      const check = setInterval(() => terminal.out.length && (clearInterval(check), resolve()), 10);
    });
    const grandchild = Number(terminal.out.join('').split('\n')[0]);
    await cmd.stop(300);
    const exit = await cmd.exited;
    expect(exit).toEqual({ kind: 'signalled', code: null, signal: 'SIGKILL' });
    expect(terminal.out.join('')).toContain('ignored');
    await expectEventually(() => expect(alive(grandchild)).toBe(false));
  });

  it('reports a command that cannot start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'orgmesh-child-'));
    dirs.push(dir);
    const cmd = new SupervisedCommand({
      command: 'no-such-command-xyz',
      args: [],
      cwd: dir,
      env: { PATH: '/nonexistent' },
      logDir: join(dir, 'logs'),
      stdout: null,
      stderr: null,
      inheritStdin: false,
    });
    await expect(cmd.started).rejects.toMatchObject({ code: 'ENOENT' });
    const exit = await cmd.exited;
    expect(describeExit(exit)).toBe('spawn failed: ENOENT');
    expect(exitStatusOf(exit)).toBe(127);
  });

  it('describes exits as the session reason and the shell status', () => {
    expect(describeExit({ kind: 'exited', code: 0, signal: null })).toBe('exit code 0');
    expect(describeExit({ kind: 'signalled', code: null, signal: 'SIGTERM' })).toBe('signal SIGTERM');
    expect(exitStatusOf({ kind: 'signalled', code: null, signal: 'SIGKILL' })).toBe(137);
    expect(exitStatusOf({ kind: 'exited', code: 3, signal: null })).toBe(3);
  });
});
