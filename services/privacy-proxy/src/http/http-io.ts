import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, httpStatusFor, type ErrorCode } from '@orgmesh/contracts';
import { sendJson } from '@orgmesh/service-host/http-edge';

/** Reads a request body up to `limit` bytes; larger bodies are `payload_too_large` without reading on. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new AppError('payload_too_large', `request body exceeds ${limit} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return; // drained and dropped, so the 413 can still be sent on this connection
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        reject(new AppError('payload_too_large', `request body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!tooLarge) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', reject);
  });
}

export function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new AppError('validation_failed', 'request body is not valid JSON', { cause });
  }
}

/** `application/problem+json` with a stable `code`, for the proxy's own endpoints. */
export function sendProblem(res: ServerResponse, error: AppError): void {
  const status = httpStatusFor(error.code);
  const payload = JSON.stringify({
    type: 'about:blank',
    title: error.code.replace(/_/g, ' '),
    status,
    code: error.code,
    detail: error.message,
    ...(error.details ? { details: error.details } : {}),
  });
  res.writeHead(status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

function openAiErrorType(code: ErrorCode): string {
  switch (code) {
    case 'unauthenticated':
      return 'authentication_error';
    case 'forbidden':
    case 'policy_denied':
      return 'permission_error';
    case 'rate_limited':
      return 'rate_limit_error';
    case 'unavailable':
    case 'timeout':
    case 'internal':
      return 'api_error';
    default:
      return 'invalid_request_error';
  }
}

/** An error in the shape the provider's SDKs parse, plus the orgmesh `code`. */
export function sendProviderError(
  res: ServerResponse,
  provider: 'openai' | 'anthropic',
  error: AppError,
): void {
  const status = httpStatusFor(error.code);
  const type = openAiErrorType(error.code);
  const body =
    provider === 'openai'
      ? { error: { message: error.message, type, param: null, code: error.code, ...(error.details ?? {}) } }
      : {
          type: 'error',
          error: { type, message: error.message, code: error.code, ...(error.details ?? {}) },
        };
  sendJson(res, status, body);
}

/** The orgmesh token: `Authorization: Bearer …` (OpenAI clients, Claude Code's auth token) or `x-api-key` (Anthropic SDK). */
export function callerToken(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization);
    if (match?.[1]) return match[1].trim();
  }
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.length > 0) return apiKey.trim();
  return undefined;
}

export function toAppError(error: unknown): AppError {
  return error instanceof AppError ? error : new AppError('internal', 'internal error', { cause: error });
}
