import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { restHandler, type UserBuilder } from '@a2a-js/sdk/server/express';
import { ServerCallContext, type A2ARequestHandler, type User } from '@a2a-js/sdk/server';
import type { Caller } from '../auth/caller.js';
import { CALLER_KEY, SIGNAL_KEY, TARGET_KEY, type A2ATarget } from './a2a-handler.js';

/** What the gateway verified about a request, handed to the SDK's REST handler through its user. */
interface Verified {
  caller: Caller;
  signal: AbortSignal;
  target: A2ATarget;
}

/** The two Express calls used here, typed locally: express ships no types and @types/express is not installed. */
interface ExpressApp {
  (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void;
  disable(setting: string): void;
  use(handler: unknown): void;
}
const express = createRequire(import.meta.url)('express') as () => ExpressApp;

/** The binding's own 400 body (google.rpc.Status shape, as the SDK answers its refusals). */
function refuse(res: ServerResponse, message: string): void {
  const text = JSON.stringify({ error: { code: 400, status: 'INVALID_ARGUMENT', message, details: [] } });
  res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * A POST body the gateway already read (within its body limit) handed to the SDK's router as
 * `req.body`, as its JSON parser would (which skips a request already read). Checked first: the SDK's
 * REST binding converts each message part before any handler runs and threw a TypeError on a part
 * that is not an object (`parts: [null]` → 500 INTERNAL, found by `npm run fuzz`), so such parts and
 * a JSON body that does not parse get the binding's 400 here. False when refused.
 */
function acceptBody(req: IncomingMessage & { body?: unknown }, res: ServerResponse, body: Buffer): boolean {
  if (body.length === 0 || !/^application\/(a2a\+)?json\b/i.test(req.headers['content-type'] ?? ''))
    return true;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    refuse(res, 'the request body is not JSON');
    return false;
  }
  const parts = (parsed as { message?: { parts?: unknown } } | null)?.message?.parts;
  if (Array.isArray(parts) && parts.some((p) => p === null || typeof p !== 'object' || Array.isArray(p))) {
    refuse(res, 'message.parts: every part must be an object');
    return false;
  }
  req.body = parsed;
  return true;
}

class VerifiedUser implements User {
  constructor(readonly verified: Verified) {}
  get isAuthenticated(): boolean {
    return true;
  }
  get userName(): string {
    return this.verified.caller.subject;
  }
}

/** The paths the SDK's REST router answers, below an endpoint's `/rest` (push configs excepted: unsupported). */
export const REST_SUFFIXES = [
  { method: 'POST', suffix: '/message:send' },
  { method: 'POST', suffix: '/message:stream' },
  { method: 'GET', suffix: '/tasks' },
  // `tasks/<id>` and `tasks/<id>:subscribe`
  { method: 'GET', suffix: '/tasks/{task}' },
  // `tasks/<id>:cancel` and `tasks/<id>:subscribe`
  { method: 'POST', suffix: '/tasks/{task}' },
  { method: 'GET', suffix: '/extendedAgentCard' },
] as const;

/**
 * A2A's HTTP+JSON binding through the SDK's own REST handler (an Express router: the SDK has no
 * framework-free REST transport), over the same MeshA2AHandler as JSON-RPC. The gateway's route
 * table matches, authenticates and rate-limits the request first; the router then sees it with the
 * endpoint prefix cut off, and the verified caller, target and abort signal reach the handler
 * through the SDK's user and call context. Refusals inside are the binding's own (google.rpc.Status
 * bodies, HTTP statuses from A2A's table), as an A2A REST client expects.
 */
export class A2ARestTransport {
  private readonly app: ExpressApp;
  private readonly verified = new WeakMap<IncomingMessage, Verified>();

  constructor(handler: A2ARequestHandler) {
    const userBuilder: UserBuilder = async (req) => {
      const verified = this.verified.get(req);
      if (!verified) throw new Error('an A2A REST request that the gateway did not verify');
      return new VerifiedUser(verified);
    };
    this.app = express();
    this.app.disable('x-powered-by');
    this.app.use(
      restHandler({
        requestHandler: handler,
        userBuilder,
        contextBuilder: ({ user, requestedVersion }) => {
          const verified = (user as VerifiedUser).verified;
          return new ServerCallContext({
            user,
            // Without an A2A-Version header this binding is v1.0 (it has no v0.3 form here).
            requestedVersion: requestedVersion ?? '1.0',
            state: new Map<string, unknown>([
              [CALLER_KEY, verified.caller],
              [SIGNAL_KEY, verified.signal],
              [TARGET_KEY, verified.target],
            ]),
          });
        },
      }),
    );
  }

  /** Serves one request whose path starts with `prefix` (the endpoint's `/rest`); resolves when answered. */
  /** `body`: a POST's body, read by the gateway within its body limit (the router's parser then skips it). */
  async serve(
    req: IncomingMessage,
    res: ServerResponse,
    prefix: string,
    verified: Verified,
    body?: Buffer,
  ): Promise<void> {
    if (body && !acceptBody(req, res, body)) return;
    this.verified.set(req, verified);
    req.url = (req.url ?? '/').slice(prefix.length) || '/';
    await new Promise<void>((resolve) => {
      res.once('finish', resolve);
      res.once('close', resolve);
      this.app(req, res, () => {
        // Nothing in the router matched (a path the table let through but the SDK does not serve).
        if (!res.headersSent) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              error: { code: 404, status: 'NOT_FOUND', message: 'no such A2A REST method', details: [] },
            }),
          );
        }
        resolve();
      });
    });
  }
}
