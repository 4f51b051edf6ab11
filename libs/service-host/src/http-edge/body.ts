import type { IncomingMessage } from 'node:http';
import { AppError } from '@orgmesh/contracts';

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length above the limit is refused
 * before reading; a body that grows past it while streaming is refused at that point. Either way the
 * error is `payload_too_large` (413, `details.limitBytes`), and the rest of the body is drained and
 * dropped, never buffered, so the refusal can still be answered on the same connection.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(bodyTooLarge(limit));
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
        reject(bodyTooLarge(limit));
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

/** The error `readBody` refuses an oversized body with. */
export function bodyTooLarge(limit: number): AppError {
  return new AppError('payload_too_large', `the request body exceeds ${limit} bytes`, {
    details: { limitBytes: limit },
  });
}

/** Whether `error` is readBody's refusal of an oversized body (for edges that answer in their own shape). */
export function isBodyTooLarge(error: unknown): error is AppError {
  return error instanceof AppError && error.code === 'payload_too_large';
}

/**
 * The body as JSON: undefined for an empty body, `validation_failed` (naming the body) for bytes
 * that are not JSON.
 */
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

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}
