import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export interface RemoteJwksOptions {
  /** Refetch in the background once the keys are this old; default 10 min. */
  refreshAfterMs?: number;
  /**
   * Keep verifying with the last keys fetched for this long when the issuer cannot be reached;
   * default 24 h. Past it every token fails as `issuer keys unreachable`.
   */
  maxStaleMs?: number;
  /** An unknown `kid` refetches at most this often (a flood of forged kids must not flood the issuer); default 5 s. */
  cooldownMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The issuer's JWKS could not be fetched (unreachable, an error status, not JSON) and no usable keys are held. */
export class JwksUnavailableError extends joseErrors.JOSEError {
  override readonly name = 'JwksUnavailableError';
}

/**
 * A remote JWKS that survives the issuer being down. jose's `createRemoteJWKSet` refetches as soon
 * as its cache is older than `cacheMaxAge` and fails verification when that refetch fails, so an
 * issuer outage longer than the cache age would refuse every token, including valid ones. Here a
 * stale key set is refreshed in the background and kept serving until `maxStaleMs`; an unknown
 * `kid` (the issuer rotated its key) triggers an immediate refetch, rate-limited by `cooldownMs`.
 */
export function createRemoteJwks(url: URL, options: RemoteJwksOptions = {}): JWTVerifyGetKey {
  const refreshAfterMs = options.refreshAfterMs ?? 600_000;
  const maxStaleMs = options.maxStaleMs ?? 86_400_000;
  const cooldownMs = options.cooldownMs ?? 5_000;
  const now = options.now ?? Date.now;
  const fetchImpl = options.fetch ?? fetch;
  let local: ReturnType<typeof createLocalJWKSet> | undefined;
  let fetchedAt = 0;
  let lastAttempt = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | undefined;

  // `lastAttempt` counts refetches for an unknown kid and background refreshes, not the first load:
  // a rotation right after a verifier started must not wait out a cooldown it never used.
  const reload = (kind: 'load' | 'refetch' = 'refetch'): Promise<void> => {
    if (kind === 'refetch') lastAttempt = now();
    pending ??= (async () => {
      let response: Response;
      try {
        response = await fetchImpl(url, {
          headers: { accept: 'application/json' },
          signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
        });
      } catch (cause) {
        throw new JwksUnavailableError(`JWKS at ${url.href} unreachable`, { cause });
      }
      if (!response.ok) throw new JwksUnavailableError(`JWKS at ${url.href} answered ${response.status}`);
      try {
        local = createLocalJWKSet((await response.json()) as JSONWebKeySet);
      } catch (cause) {
        throw new JwksUnavailableError(`JWKS at ${url.href} is not a JSON Web Key Set`, { cause });
      }
      fetchedAt = now();
    })().finally(() => {
      pending = undefined;
    });
    return pending;
  };

  const getKey = async (...args: Parameters<JWTVerifyGetKey>) => {
    const age = now() - fetchedAt;
    if (!local || age > maxStaleMs) {
      // Nothing usable in hand: this verification has to wait for the issuer.
      await reload('load');
    } else if (age > refreshAfterMs && now() - lastAttempt > cooldownMs) {
      reload().catch(() => undefined);
    }
    try {
      return await local!(...args);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey) || now() - lastAttempt <= cooldownMs) throw error;
      // A kid we do not know: the issuer has probably rotated; ask once, then decide.
      try {
        await reload();
      } catch {
        throw error;
      }
      return local!(...args);
    }
  };
  return getKey;
}
