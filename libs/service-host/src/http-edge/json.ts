import type { ServerResponse } from 'node:http';

/**
 * Answers `body` as JSON with its Content-Length (a string is sent as it is: already JSON). Extra
 * headers win over the defaults.
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}
