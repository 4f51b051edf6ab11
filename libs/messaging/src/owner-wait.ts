import type { Logger } from '@orgmesh/telemetry';
import type { ConsumeOptions, ConsumerHandle } from './types.js';

/**
 * Taken off the moment a consumer began waiting when it starts by time: NATS compares a start time
 * with its own clock. The stream did not exist then, so the margin replays nothing older than it.
 */
export const CLOCK_SKEW_MARGIN_MS = 60_000;
const FIRST_LOOK_MS = 100;
const LAST_LOOK_MS = 2_000;

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
 * `waitForOwner`): answers its handle at once and starts it once the stream exists, looking again
 * after 100 ms, doubling to every 2 s (or every `lookEveryMs`). Never tries to create the stream: on a secured bus the
 * attempt is refused, and each refusal is an error in this process's log and the server's.
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
  let stopped = false;
  let started: ConsumerHandle | undefined;
  // stop() ends the pause at once: a service closing must not wait out a look interval.
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const over = () => stopped || wait.closing();
  const every = typeof opts.waitForOwner === 'object' ? opts.waitForOwner.lookEveryMs : undefined;
  wait.logger.info({ consumer: wait.durable, subject: wait.subject }, 'consumer waits for its stream');
  const waiting = (async () => {
    for (let delay = every ?? FIRST_LOOK_MS; !over(); delay = every ?? Math.min(delay * 2, LAST_LOOK_MS)) {
      await pause(delay);
      if (over()) return;
      try {
        if (!(await wait.exists())) continue;
        started = await wait.start(startOpts);
        wait.logger.info(
          { consumer: wait.durable, stream: started.stream, waitedMs: Date.now() - began },
          'consumer started once its stream existed',
        );
        return;
      } catch (error) {
        if (!over())
          wait.logger.warn({ err: error, consumer: wait.durable }, 'consumer could not start; retrying');
      }
    }
  })();
  return {
    durable: wait.durable,
    stream: wait.stream,
    stop: async () => {
      stopped = true;
      wake?.();
      await waiting;
      await started?.stop();
    },
  };
}
