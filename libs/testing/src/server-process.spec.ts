import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort, waitForPort } from './ports.js';
import { restartableServer, stopChild } from './server-process.js';

/**
 * A node process that serves `port` and, with `stubborn`, ignores SIGTERM. Its sockets ignore
 * errors: waitForPort resets its probe connection at once, and the reply written to it then fails
 * with EPIPE or ECONNRESET, which without a listener would crash the server (CI saw the server
 * gone right after its start).
 */
function server(port: number, stubborn = false) {
  const script = `${stubborn ? "process.on('SIGTERM', () => {});" : ''}
    require('node:net').createServer((s) => { s.on('error', () => {}); s.end('up'); }).listen(${port}, '127.0.0.1');`;
  return spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('data', () => resolve(true));
    socket.once('error', () => resolve(false));
  });
}

describe('stopChild', () => {
  it('sends the signal and resolves once the process has exited', async () => {
    const child = server(await freePort());
    await stopChild(child, { signal: 'SIGINT' });
    expect(child.signalCode).toBe('SIGINT');
    await stopChild(child); // already exited: nothing to wait for
  });

  it('kills a process that ignores its signal once the grace has passed', async () => {
    const port = await freePort();
    const child = server(port, true);
    await waitForPort(port);
    const started = Date.now();
    await stopChild(child, { signal: 'SIGTERM', graceMs: 300 });
    expect(child.signalCode).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});

describe('restartableServer', () => {
  it('starts the server, stops it, starts it again on the same port, and cleans up on dispose', async () => {
    const port = await freePort();
    let launches = 0;
    let cleaned = 0;
    const running = await restartableServer({
      url: `tcp://127.0.0.1:${port}`,
      port,
      launch: () => {
        launches += 1;
        return server(port);
      },
      ready: () => waitForPort(port),
      cleanUp: () => {
        cleaned += 1;
      },
    });
    expect(await answers(port)).toBe(true);
    await running.start(); // running already: no second process
    expect(launches).toBe(1);

    await running.stop();
    expect(await answers(port)).toBe(false);
    await running.stop();

    await running.start();
    expect(launches).toBe(2);
    expect(await answers(port)).toBe(true);

    await running.dispose();
    expect(await answers(port)).toBe(false);
    expect(cleaned).toBe(1);
  });
});
