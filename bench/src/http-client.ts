import { Agent, request } from 'node:http';

/**
 * The HTTP client of the privacy-proxy benches: node:http with keep-alive, not the global fetch.
 * The client runs in the bench process and pays the same for the direct call and the call through
 * the proxy, but its garbage collections do not: measured on this machine (7 Dec 2026), a fetch
 * client's young-generation collections took 8–16 ms every 150–300 ms (12–25 MB of fetch's objects
 * surviving each), this client's 0.2–0.3 ms. A pause lands on whichever request is in flight: the
 * client's cost, measured as the call's. With this client the direct call's p99 fell from 0.9–2.0 ms
 * to ~0.3 ms, and at 16 clients fetch's CPU had been taking the cores the proxy needed (direct
 * saturation 2,368–2,975 requests/s with fetch, 10,716 and more with this client).
 */
const agent = new Agent({ keepAlive: true });

/** An answer: its status and body. */
export interface Answer {
  readonly status: number;
  readonly body: string;
}

/**
 * POSTs `body` (JSON) to `url` with the bearer `token`. `onData`, when given, sees each chunk of the
 * answer as it arrives (a stream's first token), with the time it arrived.
 */
export function postJson(
  url: string,
  token: string,
  body: string,
  onData?: (chunk: Buffer, at: number) => void,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          onData?.(chunk, performance.now());
          chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
