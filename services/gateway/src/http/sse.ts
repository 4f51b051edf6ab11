import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

/**
 * The gateway's two server-sent event streams (GET /v1/events and A2A's streaming methods) write
 * alike: one head, keep-alive comments while quiet, frames that wait for the socket to drain.
 */

/**
 * Writes one frame, waiting for the socket to drain. Never rejects: the heartbeat calls it without
 * awaiting, and a rejection there would be unhandled. A response that errors while draining is gone
 * (its 'close' releases the stream's subscription); the client resumes or asks again.
 */
export async function writeFrame(res: ServerResponse, chunk: string): Promise<void> {
  if (res.destroyed || res.writableEnded) return;
  try {
    if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
  } catch {
    res.destroy();
  }
}

/**
 * The head of an event stream: not cached, not transformed, not buffered by a proxy (nginx's
 * `x-accel-buffering`). The content type is set, not passed to writeHead, so the server's error
 * boundary can tell a started response is an event stream.
 */
export function writeEventStreamHead(res: ServerResponse, contentType: string): void {
  res.setHeader('content-type', contentType);
  res.writeHead(200, {
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
}

/** A keep-alive comment every `intervalMs`, so proxies and clients keep a quiet stream open; clear it when done. */
export function keepAlive(res: ServerResponse, intervalMs: number): NodeJS.Timeout {
  return setInterval(() => void writeFrame(res, ': keep-alive\n\n'), intervalMs);
}
