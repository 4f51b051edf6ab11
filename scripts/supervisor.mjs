// The process supervisor of `npm start`: each service runs as its own child process; one that dies is
// restarted with exponential backoff, as an orchestrator would, instead of taking the suite down.
// Only a crash loop (too many crashes of one service within a window) gives up, through `onGiveUp`.
import { spawn } from 'node:child_process';

/** Defaults: 0.5 s doubling to 30 s; 5 crashes within 60 s is a loop; 30 s up resets the backoff. */
export const SUPERVISOR_DEFAULTS = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  crashLoopCount: 5,
  crashLoopWindowMs: 60_000,
  stableAfterMs: 30_000,
  stopGraceMs: 8_000,
});

/** `exit code 1`, `signal SIGKILL`. */
export function describeExit(code, signal) {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

/** The delay before restart `n` (1-based): initial · 2^(n-1), at most max. */
export function backoffDelay(n, { initialDelayMs, maxDelayMs }) {
  return Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, n - 1));
}

export class Supervisor {
  /**
   * @param {{ log: (line: string) => void, onGiveUp: (name: string, reason: string) => void,
   *   now?: () => number } & Partial<typeof SUPERVISOR_DEFAULTS>} options
   */
  constructor(options) {
    this.options = { ...SUPERVISOR_DEFAULTS, ...options };
    this.now = options.now ?? Date.now;
    /** @type {Map<string, Service>} */
    this.services = new Map();
    this.stopping = false;
  }

  /**
   * Starts `command args` as service `name` and keeps it running.
   * @param {string} name
   * @param {{ command: string, args: string[], options?: import('node:child_process').SpawnOptions }} spec
   */
  add(name, spec) {
    if (this.services.has(name)) throw new Error(`service ${name} is supervised already`);
    const service = {
      name,
      spec,
      child: undefined,
      restarts: 0,
      crashes: [],
      startedAt: 0,
      timer: undefined,
      exited: undefined,
    };
    this.services.set(name, service);
    this.#launch(service);
    return service;
  }

  /** The current process of a service (a new one after each restart). */
  child(name) {
    return this.services.get(name)?.child;
  }

  /** Stops every service, the last added first: SIGTERM, SIGKILL after the grace period. */
  async stop() {
    this.stopping = true;
    const all = [...this.services.values()].reverse();
    for (const service of all) clearTimeout(service.timer);
    for (const service of all) signal(service.child, 'SIGTERM');
    await Promise.all(
      all.map(async (service) => {
        if (!service.exited) return;
        const timer = setTimeout(() => signal(service.child, 'SIGKILL'), this.options.stopGraceMs);
        await service.exited;
        clearTimeout(timer);
      }),
    );
  }

  #launch(service) {
    const { command, args, options } = service.spec;
    const child = spawn(command, args, options ?? {});
    service.child = child;
    service.startedAt = this.now();
    service.exited = new Promise((resolve) => {
      let done = false;
      const finish = (code, sig) => {
        if (done) return;
        done = true;
        resolve();
        this.#exited(service, code, sig);
      };
      child.once('exit', finish);
      // A failed spawn emits 'error' and no 'exit': it counts as a crash too.
      child.once('error', (error) => (child.pid === undefined ? finish(127, null, error) : undefined));
    });
  }

  #exited(service, code, sig) {
    if (this.stopping) return;
    const now = this.now();
    const { crashLoopCount, crashLoopWindowMs, stableAfterMs } = this.options;
    // A service that stayed up a while starts its backoff afresh.
    if (now - service.startedAt >= stableAfterMs) service.restarts = 0;
    service.crashes = [...service.crashes.filter((at) => now - at < crashLoopWindowMs), now];
    const how = describeExit(code, sig);
    if (service.crashes.length >= crashLoopCount) {
      const reason = `${service.name} crashed ${service.crashes.length} times within ${crashLoopWindowMs / 1000} s (last: ${how})`;
      this.options.log(`${reason}: a crash loop, not restarting it`);
      this.options.onGiveUp(service.name, reason);
      return;
    }
    service.restarts += 1;
    const delay = backoffDelay(service.restarts, this.options);
    this.options.log(`${service.name} exited (${how}); restart ${service.restarts} in ${formatDelay(delay)}`);
    service.timer = setTimeout(() => {
      if (this.stopping) return;
      this.#launch(service);
      service.child.once('spawn', () =>
        this.options.log(`${service.name} restarted (pid ${service.child.pid}, restart ${service.restarts})`),
      );
    }, delay);
  }
}

function formatDelay(ms) {
  return ms < 1_000 ? `${ms} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

function signal(child, sig) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill(sig);
  } catch {
    // gone already
  }
}
