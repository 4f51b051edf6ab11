import { z } from 'zod';
import { ConfigError, env, parseConfig } from '@orgmesh/config';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

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
  /** YAML or JSON: role profiles and the org-chart directory (until the registry serves them). */
  PRIVACY_PROFILES_FILE: z.string().min(1),
  /** Key of the placeholder HMAC; the same on every replica, so pseudonyms are stable. */
  PRIVACY_HMAC_KEY: z.string().min(32),
  PRIVACY_MAX_BODY_BYTES: env.int(20 * 1024 * 1024, 1),
  /** Optional external NER endpoint: POST {text} → {entities:[{type,start,end,score}]}. */
  PRIVACY_NER_URL: optionalUrl,
  PRIVACY_NER_TIMEOUT: env.duration('2s'),
  AUTH_JWKS_URL: z.string().url().default('http://127.0.0.1:8080/.well-known/jwks.json'),
  AUTH_ISSUER: z.string().min(1).default('http://127.0.0.1:8080'),
  AUTH_AUDIENCE: z.string().min(1).default('orgmesh'),
  LOG_LEVEL: env.logLevel(),
  /** Where privacy.v1.redacted audit events go: JetStream (default) or the log only. */
  PRIVACY_AUDIT: z.enum(['nats', 'log']).default('nats'),
  NATS_URL: env.natsUrl(),
  NATS_SUBJECT_PREFIX: env.subjectPrefix(),
  NATS_NAME_SUFFIX: z.string().regex(/^[A-Za-z0-9_-]*$/).default(''),
  /** OTLP/HTTP collector base URL (spans go to `<url>/v1/traces`); unset: spans are not exported. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** `service.name` of this service's spans; default: the service's own name. */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
});
export type PrivacyProxyConfig = z.infer<typeof PrivacyProxyConfigSchema>;

/** Parses the environment once at startup; errors name keys, never values. */
export function loadPrivacyProxyConfig(
  source: Record<string, string | undefined> = process.env,
): PrivacyProxyConfig {
  const config = parseConfig('privacy-proxy', PrivacyProxyConfigSchema, source);
  if (!config.PRIVACY_UPSTREAM_OPENAI_URL && !config.PRIVACY_UPSTREAM_ANTHROPIC_URL) {
    throw new ConfigError('privacy-proxy', [
      { key: 'PRIVACY_UPSTREAM_OPENAI_URL', reason: 'at least one upstream is required' },
      { key: 'PRIVACY_UPSTREAM_ANTHROPIC_URL', reason: 'at least one upstream is required' },
    ]);
  }
  return config;
}
