import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';

/** How a supervised command ended. */
export type ChildExit =
  | { readonly kind: 'exited'; readonly code: number; readonly signal: null }
  | { readonly kind: 'signalled'; readonly code: null; readonly signal: NodeJS.Signals }
  | { readonly kind: 'spawn-failed'; readonly error: NodeJS.ErrnoException };

export interface SupervisedOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
  /** Where stdout.log and stderr.log go. */
  readonly logDir: string;
  /** The terminal: the command's output is copied there as it arrives (tail -f), unless null. */
  readonly stdout: NodeJS.WritableStream | null;
  readonly stderr: NodeJS.WritableStream | null;
  /** Give the command the runner's stdin (an interactive terminal); otherwise it reads nothing. */
  readonly inheritStdin: boolean;
}

/**
 * One command under supervision. It runs in its own process group, so stopping it reaches whatever
 * it started too (a shell's children, an MCP server): SIGTERM to the group, SIGKILL after the grace
 * period if anything is left. Its output is written to log files and copied to the terminal.
 */
export class SupervisedCommand {
  readonly child: ChildProcess;
  readonly started: Promise<number>;
  readonly exited: Promise<ChildExit>;
  readonly stdoutLog: string;
  readonly stderrLog: string;
  private stopping: Promise<void> | undefined;
  private exitedFlag = false;

  constructor(options: SupervisedOptions) {
    mkdirSync(options.logDir, { recursive: true });
    this.stdoutLog = join(options.logDir, 'stdout.log');
    this.stderrLog = join(options.logDir, 'stderr.log');
    const outFile = createWriteStream(this.stdoutLog, { flags: 'a' });
    const errFile = createWriteStream(this.stderrLog, { flags: 'a' });
    this.child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: [options.inheritStdin ? 'inherit' : 'ignore', 'pipe', 'pipe'],
    });
    const closed = Promise.all([
      tee(this.child.stdout, outFile, options.stdout),
      tee(this.child.stderr, errFile, options.stderr),
    ]);
    this.started = new Promise<number>((resolve, reject) => {
      this.child.once('spawn', () => resolve(this.child.pid ?? -1));
      this.child.once('error', reject);
    });
    this.exited = new Promise<ChildExit>((resolve) => {
      this.child.once('error', (error: NodeJS.ErrnoException) => {
        if (this.child.pid === undefined) {
          this.exitedFlag = true;
          void closeStreams(outFile, errFile).then(() => resolve({ kind: 'spawn-failed', error }));
        }
      });
      this.child.once('exit', (code, signal) => {
        this.exitedFlag = true;
        // Leftovers in the group (a daemonised grandchild) do not outlive the command.
        this.signalGroup('SIGKILL');
        // The pipes close once the last writer is gone; do not wait forever for a stray holder.
        void Promise.race([closed, new Promise((r) => setTimeout(r, 2_000).unref())])
          .then(() => closeStreams(outFile, errFile))
          .then(() =>
            resolve(
              signal
                ? { kind: 'signalled', code: null, signal }
                : { kind: 'exited', code: code ?? 0, signal: null },
            ),
          );
      });
    });
    // A failed spawn rejects `started`; `exited` reports it, so this rejection is handled there.
    this.started.catch(() => undefined);
  }

  get running(): boolean {
    return this.child.pid !== undefined && !this.exitedFlag;
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once the command has exited. */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.running) return;
      this.signalGroup('SIGTERM');
      const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
      try {
        await this.exited;
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.stopping;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone already.
    }
  }
}

function tee(
  source: NodeJS.ReadableStream | null,
  file: WriteStream,
  terminal: NodeJS.WritableStream | null,
): Promise<void> {
  return new Promise((resolve) => {
    if (!source) return resolve();
    source.on('data', (chunk: Buffer) => {
      file.write(chunk);
      terminal?.write(chunk);
    });
    source.once('end', () => resolve());
    source.once('error', () => resolve());
  });
}

function closeStreams(...streams: WriteStream[]): Promise<void> {
  return Promise.all(streams.map((s) => new Promise<void>((resolve) => s.end(() => resolve())))).then(
    () => undefined,
  );
}

/** The shell convention for a command's status: its code, or 128 + the signal number. */
export function exitStatusOf(exit: ChildExit): number {
  if (exit.kind === 'exited') return exit.code;
  if (exit.kind === 'signalled') return 128 + (osConstants.signals[exit.signal] ?? 0);
  return exit.error.code === 'ENOENT' ? 127 : 126;
}

/** `exit code 3`, `signal SIGKILL`, `spawn failed: ENOENT` — the session's failure reason. */
export function describeExit(exit: ChildExit): string {
  if (exit.kind === 'exited') return `exit code ${exit.code}`;
  if (exit.kind === 'signalled') return `signal ${exit.signal}`;
  return `spawn failed: ${exit.error.code ?? exit.error.message}`;
}
