import type { Readable } from 'node:stream';

/** The reserved `_meta` key whose presence claims the 2026-07-28 per-request envelope. */
const PROTOCOL_VERSION_META_KEY = 'io.modelcontextprotocol/protocolVersion';

/**
 * Reads the first line a stdio client sends and puts every byte back, so the transport that serves
 * the connection reads the stream from its start. Leaves stdin paused: resume it once that
 * transport listens (an explicitly paused stream stays paused when a 'data' listener is added).
 * Resolves undefined when stdin ends first.
 */
export function peekFirstLine(stdin: Readable): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const finish = (line: string | undefined, ended: boolean) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      // Paused until the serving transport listens (the caller resumes it): a flowing stream
      // without a 'data' listener drops what it reads.
      stdin.pause();
      if (!ended && buffered.length > 0) stdin.unshift(buffered);
      resolve(line);
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const newline = buffered.indexOf(0x0a);
      if (newline >= 0) finish(buffered.subarray(0, newline).toString('utf8'), false);
    };
    const onEnd = () => finish(undefined, true);
    stdin.on('data', onData);
    stdin.once('end', onEnd);
  });
}

/**
 * Whether a connection opens in the 2026-07-28 era: its first message carries the per-request
 * envelope claim (a negotiating client's `server/discover` probe does). Anything else, unreadable
 * lines included, opens the 2025 era, whose edge answers them.
 */
export function opensModernEra(line: string | undefined): boolean {
  if (!line) return false;
  try {
    const message = JSON.parse(line) as { params?: { _meta?: unknown } } | null;
    const meta = message?.params?._meta;
    return typeof meta === 'object' && meta !== null && PROTOCOL_VERSION_META_KEY in meta;
  } catch {
    return false;
  }
}
