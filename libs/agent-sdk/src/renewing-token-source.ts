import type { AccessToken, AccessTokenSource } from './token-source.js';

/**
 * What the token sources that fetch and renew a token share: the cached token, one request at a
 * time shared by concurrent callers, the timer of the next renewal or retry, the failure count its
 * backoff grows with, and stop/invalidate. Each source decides when a token is due and how to ask.
 */
export abstract class RenewingTokenSource implements AccessTokenSource {
  protected cached: AccessToken | undefined;
  protected pending: Promise<AccessToken> | undefined;
  protected timer: NodeJS.Timeout | undefined;
  protected stopped = false;
  protected failures = 0;

  abstract current(): Promise<AccessToken>;

  /** One token request: it caches the token it gets and schedules the next renewal. */
  protected abstract request(): Promise<AccessToken>;

  invalidate(): void {
    this.cached = undefined;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Fetches a new token now (one request at a time, shared by concurrent callers). */
  refresh(): Promise<AccessToken> {
    this.pending ??= this.request().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }
}
