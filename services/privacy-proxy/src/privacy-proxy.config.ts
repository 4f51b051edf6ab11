import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { ConfigError, env, migrateEnv, natsEnv, parseConfig, telemetryEnv } from '@orgmesh/config';
import { AUTH_VERIFIER_ENV } from '@orgmesh/auth';
import { DEFAULT_PROCESSING_BUDGET } from './privacy/privacy-engine.js';
import { PriceTableSchema, type PriceTable } from './governance/prices.js';

const optionalString = env.optionalString();

const optionalUrl = optionalString.refine((v) => v === undefined || URL.canParse(v), {
  message: 'expected a URL',
});

/** The only place the privacy proxy reads its environment. */
export const PrivacyProxyConfigSchema = z.object({
  PRIVACY_PROXY_HOST: z.string().min(1).default('127.0.0.1'),
  PRIVACY_PROXY_PORT: env.port(8090),
  /** OpenAI-compatible base URL, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`; `/chat/completions` is appended. */
  PRIVACY_UPSTREAM_OPENAI_URL: optionalUrl,
  PRIVACY_UPSTREAM_OPENAI_KEY: optionalString,
  /** Anthropic base URL, e.g. `https://api.anthropic.com`; `/v1/messages` is appended (a trailing `/v1` is tolerated). */
  PRIVACY_UPSTREAM_ANTHROPIC_URL: optionalUrl,
  PRIVACY_UPSTREAM_ANTHROPIC_KEY: optionalString,
  /** Time for the upstream to answer and finish streaming. */
  PRIVACY_UPSTREAM_TIMEOUT: env.duration('10m'),
  /**
   * Where role profiles and the org-chart directory come from: `registry` (rpc.registry.v1.get-profile
   * and rpc.registry.v1.directory over NATS) or `file` (PRIVACY_PROFILES_FILE). Default: `file` when
   * PRIVACY_PROFILES_FILE is set, `registry` otherwise.
   */
  PRIVACY_PROFILE_SOURCE: z.enum(['registry', 'file']).optional(),
  /** YAML or JSON: role profiles and the org-chart directory; read only by the `file` source. */
  PRIVACY_PROFILES_FILE: optionalString,
  /**
   * Registry source: how long a profile or the directory is used before the registry is asked again
   * when no change event arrived (events apply at once; this bounds a missed one).
   */
  PRIVACY_PROFILE_CACHE_TTL: env.duration('60s'),
  /** Registry source: how long one call to the registry may take before it counts as unreachable. */
  PRIVACY_REGISTRY_TIMEOUT: env.duration('2s'),
  /**
   * Registry source: what a role gets when the registry has no profile for it (profile_not_found).
   * `mask` and `strict` act as a profile of that mode; `refuse` refuses every request of the role (403).
   * Never `off` or `detect`: an unknown role must not send personal data out unmasked.
   */
  PRIVACY_FALLBACK_MODE: z.enum(['mask', 'strict', 'refuse']).default('mask'),
  /**
   * Registry source: the registry's public profile-signing keys (a JWKS as JSON). Set: signed profiles
   * are verified against these keys only. Unset: against the keys the registry sends with each profile.
   */
  PRIVACY_PROFILE_JWKS: optionalString.transform((text, ctx) => {
    if (text === undefined) return undefined;
    const jwks = parseJwks(text);
    if (!jwks) ctx.addIssue({ code: 'custom', message: 'expected a JWKS: {"keys":[{kty, kid, …}]}' });
    return jwks;
  }),
  /** Key of the placeholder HMAC; the same on every replica, so pseudonyms are stable. */
  PRIVACY_HMAC_KEY: z.string().min(32),
  PRIVACY_MAX_BODY_BYTES: env.int(20 * 1024 * 1024, 1),
  /**
   * Processing budget of one request: characters of text to scan (all fields together). Past it the
   * request is refused with 413 `payload_too_large` before detection, rather than stalling a replica.
   */
  PRIVACY_MAX_SCAN_CHARS: env.int(DEFAULT_PROCESSING_BUDGET.maxChars, 1),
  /** Processing budget of one request: personal values found (413 `payload_too_large` past it). */
  PRIVACY_MAX_VALUES: env.int(DEFAULT_PROCESSING_BUDGET.maxValues, 1),
  /**
   * Texts (of 256 characters or more) whose detection results the proxy remembers, least recently used
   * out; 0 turns it off. Agents send their whole conversation again on every turn: with this, each turn
   * detects only what is new. About 1–2 KB of offsets per text, never the text (keyed by an HMAC).
   */
  PRIVACY_DETECTION_MEMO_ENTRIES: env.int(4096, 0),
  /** Optional external NER endpoint: POST {text} → {entities:[{type,start,end,score}]}. */
  PRIVACY_NER_URL: optionalUrl,
  PRIVACY_NER_TIMEOUT: env.duration('2s'),
  AUTH_JWKS_URL: z.string().url().default('http://127.0.0.1:8080/.well-known/jwks.json'),
  AUTH_ISSUER: z.string().min(1).default('http://127.0.0.1:8080'),
  AUTH_AUDIENCE: z.string().min(1).default('orgmesh'),
  /** AUTH_*_CLAIM and JWKS caching, read as the gateway reads them (docs/identity.md). */
  ...AUTH_VERIFIER_ENV,
  ...telemetryEnv,
  /** Where privacy.v1.redacted audit events go: JetStream (default) or the log only. */
  PRIVACY_AUDIT: z.enum(['nats', 'log']).default('nats'),
  /**
   * `nats` audit: the local spool every event is written to before the answer and kept in until
   * JetStream acknowledged it (ADR 0013). One directory per replica, on a volume that outlives the
   * process (Kubernetes: an emptyDir survives container restarts; a PVC survives pod deletion).
   */
  PRIVACY_AUDIT_SPOOL_DIR: z.string().min(1).default('.orgmesh/privacy-audit'),
  /** Unpublished audit bytes the spool holds at most; past it events are dropped and counted. */
  PRIVACY_AUDIT_SPOOL_MAX_BYTES: env.int(1024 ** 3, 1024 * 1024),
  /**
   * LLM governance (issue 24, ADR 0016). Set: usage is aggregated in Postgres (schema `privacy_proxy`)
   * and the budget and rate-limit counters are shared by every replica there. Unset: both live in this
   * process only — fine for one replica, wrong for several (each would grant the whole budget).
   * Only the variable is read (no `.orgmesh/database-url` fallback): a proxy that ran without
   * Postgres does not start needing one. `npm start` passes it.
   */
  DATABASE_URL: optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: 'expected a postgres:// URL',
  }),
  DATABASE_POOL_SIZE: env.int(4, 1),
  ...migrateEnv,
  /**
   * Model prices over the shipped defaults (src/governance/prices.ts), as JSON: model-name prefix →
   * US dollars per million tokens, `{"gpt-4o-mini": {"input": 0.15, "output": 0.6, "cachedInput": 0.075}}`.
   */
  PRIVACY_LLM_PRICES: optionalString.transform((text, ctx): PriceTable | undefined => {
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const parsed = PriceTableSchema.safeParse(value);
    if (!parsed.success) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected {"<model prefix>": {"input": n, "output": n, "cachedInput"?: n}}',
      });
      return undefined;
    }
    return parsed.data;
  }),
  /** Output tokens a call reserves against budgets and token rate limits until its real usage is known. */
  PRIVACY_LLM_OUTPUT_RESERVE: env.int(1024, 0),
  /** How often a replica writes its budget deltas and reads the other replicas' (the cross-replica lag). */
  PRIVACY_BUDGET_SYNC_INTERVAL: env.duration('200ms'),
  /** Without a successful sync for this long the budget store counts as unreachable (profiles decide: refuse by default). */
  PRIVACY_BUDGET_STALE_AFTER: env.duration('3s'),
  /** How long hourly usage rows are kept in Postgres; 0 keeps them. */
  PRIVACY_USAGE_RETENTION: env.duration('400d'),
  ...natsEnv,
});
export type ProfileSourceKind = 'registry' | 'file';
export type PrivacyProxyConfig = Omit<z.infer<typeof PrivacyProxyConfigSchema>, 'PRIVACY_PROFILE_SOURCE'> & {
  /** Resolved: the explicit choice, else `file` when PRIVACY_PROFILES_FILE is set, else `registry`. */
  PRIVACY_PROFILE_SOURCE: ProfileSourceKind;
};

/** Parses the environment once at startup; errors name keys, never values. */
export function loadPrivacyProxyConfig(
  source: Record<string, string | undefined> = process.env,
): PrivacyProxyConfig {
  const parsed = parseConfig('privacy-proxy', PrivacyProxyConfigSchema, source);
  const problems: Array<{ key: string; reason: string }> = [];
  if (!parsed.PRIVACY_UPSTREAM_OPENAI_URL && !parsed.PRIVACY_UPSTREAM_ANTHROPIC_URL) {
    problems.push(
      { key: 'PRIVACY_UPSTREAM_OPENAI_URL', reason: 'at least one upstream is required' },
      { key: 'PRIVACY_UPSTREAM_ANTHROPIC_URL', reason: 'at least one upstream is required' },
    );
  }
  const profileSource: ProfileSourceKind =
    parsed.PRIVACY_PROFILE_SOURCE ?? (parsed.PRIVACY_PROFILES_FILE ? 'file' : 'registry');
  if (profileSource === 'file' && !parsed.PRIVACY_PROFILES_FILE)
    problems.push({ key: 'PRIVACY_PROFILES_FILE', reason: 'required with PRIVACY_PROFILE_SOURCE=file' });
  // Refused rather than ignored: an operator who sets a file expects it to be what masks.
  if (profileSource === 'registry' && parsed.PRIVACY_PROFILES_FILE)
    problems.push({
      key: 'PRIVACY_PROFILES_FILE',
      reason: 'not read with PRIVACY_PROFILE_SOURCE=registry: unset it or choose the file source',
    });
  if (problems.length > 0) throw new ConfigError('privacy-proxy', problems);
  return { ...parsed, PRIVACY_PROFILE_SOURCE: profileSource };
}

/** A JSON Web Key Set whose keys name their type and id, or undefined. */
function parseJwks(text: string): JSONWebKeySet | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  const valid =
    Array.isArray(keys) &&
    keys.length > 0 &&
    keys.every(
      (k: unknown) =>
        typeof k === 'object' &&
        k !== null &&
        typeof (k as { kty?: unknown }).kty === 'string' &&
        typeof (k as { kid?: unknown }).kid === 'string',
    );
  return valid ? (value as JSONWebKeySet) : undefined;
}
