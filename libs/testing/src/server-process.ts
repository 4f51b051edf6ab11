import type { ChildProcess } from 'node:child_process';

/**
 * Stops `child`: `signal`, then SIGKILL if it has not exited after `graceMs`; resolves once it has
 * exited (at once if it already had). A test server that ignores its signal must not hang the
 * suite's teardown, nor be left running after it.
 */
export async function stopChild(
  child: ChildProcess,
  options: { signal?: NodeJS.Signals; graceMs?: number } = {},
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.graceMs ?? 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(options.signal ?? 'SIGTERM');
  });
}

/** A server of one test run, on its own port and store, that a fault test stops and starts again. */
export interface PrivateServer {
  /** The URL clients connect with. */
  readonly url: string;
  readonly port: number;
  /** Stops the server (its stop signal, then SIGKILL); its data stays on disk for a restart. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

/**
 * The process behind a PrivateServer: `launch` spawns it, `ready` waits until it serves; `stop`
 * signals it as `stopping` says. Started once before it is returned. `start` of a running server
 * and `stop` of a stopped one do nothing, and a server that exits on its own counts as stopped.
 */
export async function restartableServer(options: {
  url: string;
  port: number;
  launch: () => ChildProcess;
  ready: () => Promise<void>;
  stopping?: { signal?: NodeJS.Signals; graceMs?: number };
  /** Removes what the server kept on disk, after it stopped (dispose). */
  cleanUp: () => void;
}): Promise<PrivateServer> {
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    if (child) return;
    const started = options.launch();
    child = started;
    started.once('exit', () => {
      if (child === started) child = undefined;
    });
    await options.ready();
  }

  async function stop(): Promise<void> {
    if (child) await stopChild(child, options.stopping);
  }

  await start();
  return {
    url: options.url,
    port: options.port,
    start,
    stop,
    async dispose() {
      await stop();
      options.cleanUp();
    },
  };
}
