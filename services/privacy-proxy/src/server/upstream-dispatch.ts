import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/**
 * One upstream call on undici's dispatch API, below `undici.request`.
 *
 * Why not `request`: measured on Node 24 with undici 8.12 (and 8.14), a node:http server forwarding
 * each call with `undici.request` saw every young-generation collection promote ~2.6 MB of the calls'
 * objects (its request handler and body stream, header buffers, and the proxy's objects they reach)
 * and pause 4–6 ms; the same server on `Agent.dispatch` with a handler of its own promoted ~0.01 MB and
 * paused ~1 ms. In the proxy those pauses landed on the request in flight: they were its p99.
 */

/** An answer's body: read whole, or chunk by chunk as it arrives (a stream). */
export interface UpstreamBody extends AsyncIterable<Buffer> {
  /** Bytes received and not yet read. */
  readonly readableLength: number;
  text(): Promise<string>;
  /** The whole body's bytes. */
  bytes(): Promise<Buffer>;
}

/** An answer as it starts: its status and headers; the body still arriving. */
export interface UpstreamAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: UpstreamBody;
}

export interface UpstreamCall {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
  /** Aborts the call at any point: before the answer (the promise rejects) or during its body (reading fails). */
  readonly signal: AbortSignal;
}

/** Sends one call through `dispatcher`; resolves when the answer's headers have arrived. */
export function dispatchCall(dispatcher: Dispatcher, url: URL, call: UpstreamCall): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    const { signal } = call;
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let controller: Dispatcher.DispatchController | undefined;
    let body: AnswerStream | undefined;
    const onAbort = () => {
      const reason = signal.reason as Error;
      // Not yet started: onRequestStart aborts it. Started: the controller ends it, and the error
      // reaches onResponseError (rejecting the promise or failing the body).
      controller?.abort(reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const settled = () => signal.removeEventListener('abort', onAbort);
    dispatcher.dispatch(
      {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: call.method as Dispatcher.HttpMethod,
        headers: call.headers,
        body: call.body ?? null,
      },
      {
        onRequestStart(c) {
          controller = c;
          if (signal.aborted) c.abort(signal.reason as Error);
        },
        onResponseStart(c, status, headers) {
          // 1xx answers come before the real one.
          if (status < 200) return;
          body = new AnswerStream(c);
          resolve({ status, headers, body });
        },
        onResponseData(c, chunk) {
          if (!body!.push(chunk)) c.pause();
        },
        onResponseEnd() {
          settled();
          body!.push(null);
        },
        onResponseError(_c, error) {
          settled();
          if (body) body.destroy(error);
          else reject(error);
        },
      },
    );
  });
}

/** The body as it arrives: a Readable the controller fills, paused while nobody reads. */
class AnswerStream extends Readable implements UpstreamBody {
  constructor(private readonly controller: Dispatcher.DispatchController) {
    super();
  }

  override _read(): void {
    if (this.controller.paused) this.controller.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A reader that stops early (the client went away) ends the upstream call too.
    if (!this.readableEnded && !this.controller.aborted)
      this.controller.abort(error ?? new Error('body closed'));
    callback(error);
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8');
  }

  async bytes(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this) chunks.push(chunk as Buffer);
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }
}
