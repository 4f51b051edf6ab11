import type { IncomingMessage } from 'node:http';
import { AppError } from '@orgmesh/contracts';

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length above the limit is refused
 * before reading; a body that grows past it while streaming is refused at that point. Either way
 * `payload_too_large` (413), and the rest of the body is discarded, never buffered.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        req.removeListener('data', onData);
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    req.once('error', (error) => {
      if (done) return;
      done = true;
      reject(new AppError('validation_failed', 'the request body could not be read', { cause: error }));
    });
  });
}

function tooLarge(limit: number): AppError {
  return new AppError('payload_too_large', `the request body exceeds ${limit} bytes`, {
    details: { limitBytes: limit },
  });
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError('validation_failed', 'the request body is not valid JSON', {
      details: { issues: [{ path: 'body', message: 'not valid JSON' }] },
    });
  }
}
