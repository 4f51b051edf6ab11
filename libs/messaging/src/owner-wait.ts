import { setTimeout as pause } from 'node:timers/promises';
import type { Logger } from '@orgmesh/telemetry';
import type { ConsumeOptions, ConsumerHandle } from './types.js';

/**
 * Taken off the moment a consumer began waiting when it starts by time: NATS compares a start time
 * with its own clock. The stream did not exist then, so the margin replays nothing older than it.
 */
const CLOCK_SKEW_MARGIN_MS = 60_000;
const FIRST_LOOK_MS = 100;
const LAST_LOOK_MS = 2_000;

/**
 * Looks until `look` answers true, as a process waits for what another one makes (a stream its owner
 * creates): after 100 ms, then doubling to every 2 s, or every `everyMs`. Answers false once `over`
 * is true; `signal` ends a pause at once (a stop must not wait out an interval). The pauses keep no
 * process alive. An error of `look` is the caller's: it rejects.
 */
export async function lookUntil(
  look: () => Promise<boolean>,
  options: { over: () => boolean; signal?: AbortSignal; everyMs?: number },
): Promise<boolean> {
  const every = options.everyMs;
  for (let delay = every ?? FIRST_LOOK_MS; ; delay = every ?? Math.min(delay * 2, LAST_LOOK_MS)) {
    await pause(delay, undefined, { ref: false, signal: options.signal }).catch(() => undefined);
    if (options.over()) return false;
    if (await look()) return true;
  }
}

export interface OwnerWait {
  /** The durable and the stream it will read, for the handle. */
  readonly durable: string;
  readonly stream: string;
  readonly subject: string;
  /** Whether a stream captures the subject now (a lookup a reader may make on a secured bus). */
  exists(): Promise<boolean>;
  /** The consume call proper, once the stream exists. */
  start(opts: ConsumeOptions): Promise<ConsumerHandle>;
  /** Whether the bus is closing: the wait ends. */
  closing(): boolean;
  readonly logger: Logger;
}

/**
 * A consumer of a stream that another service owns and has not created yet (ConsumeOptions
 * `waitForOwner`): answers its handle at once and starts it once the stream exists (lookUntil's
 * schedule, or every `lookEveryMs`). Never tries to create the stream: on a secured bus the attempt
 * is refused, and each refusal is an error in this process's log and the server's.
 *
 * `deliverPolicy: 'new'` becomes the moment the wait began (less CLOCK_SKEW_MARGIN_MS): every
 * event of a stream created after that moment is new to this consumer, and a durable created at
 * "new" once the stream appears would skip those stored between the stream's creation and its own.
 */
export function consumeOnceOwnerCreates(wait: OwnerWait, opts: ConsumeOptions): ConsumerHandle {
  const began = Date.now();
  const startOpts: ConsumeOptions =
    opts.deliverPolicy === 'new'
      ? { ...opts, deliverPolicy: { startTime: new Date(began - CLOCK_SKEW_MARGIN_MS) } }
      : opts;
  const stopping = new AbortController();
  const over = () => stopping.signal.aborted || wait.closing();
  let started: ConsumerHandle | undefined;
  wait.logger.info({ consumer: wait.durable, subject: wait.subject }, 'consumer waits for its stream');
  const tryStart = async () => {
    try {
      if (!(await wait.exists())) return false;
      started = await wait.start(startOpts);
      wait.logger.info(
        { consumer: wait.durable, stream: started.stream, waitedMs: Date.now() - began },
        'consumer started once its stream existed',
      );
      return true;
    } catch (error) {
      if (!over())
        wait.logger.warn({ err: error, consumer: wait.durable }, 'consumer could not start; retrying');
      return false;
    }
  };
  const everyMs = typeof opts.waitForOwner === 'object' ? opts.waitForOwner.lookEveryMs : undefined;
  const waiting = lookUntil(tryStart, { over, signal: stopping.signal, ...(everyMs ? { everyMs } : {}) });
  return {
    durable: wait.durable,
    stream: wait.stream,
    stop: async () => {
      stopping.abort();
      await waiting;
      await started?.stop();
    },
  };
}
