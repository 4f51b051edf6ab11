/**
 * The only request headers that reach a model provider. Everything a client sends is dropped unless
 * rebuilt here: SDK telemetry (`x-stainless-*`, `user-agent`), cookies, the caller's orgmesh token,
 * session ids — and W3C `tracestate` and `baggage`, free-form key/value lists a caller or a tracing
 * vendor may fill with anything (`tracestate: ssn=512-44-7391` would go out verbatim). `traceparent`
 * stays: it is ids and flags in a fixed hex format, and it ties the provider's request id to our trace.
 */
export const UPSTREAM_HEADER_ALLOW_LIST: ReadonlySet<string> = new Set([
  'content-type',
  'accept',
  'accept-encoding',
  'authorization',
  'x-api-key',
  'anthropic-version',
  'anthropic-beta',
  'traceparent',
]);

const ACCEPTS = new Set(['application/json', 'text/event-stream']);
/** `2023-06-01`: Anthropic versions are dates. */
const ANTHROPIC_VERSION = /^\d{4}-\d{2}-\d{2}$/;
/** `prompt-caching-2024-07-31`: a feature name and its date; anything else is not forwarded. */
const ANTHROPIC_BETA = /^[a-z][a-z0-9-]{0,62}-\d{4}-\d{2}-\d{2}$/;
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The caller's `accept`, when it is one the APIs answer with; JSON otherwise. */
export function upstreamAccept(value: string | undefined): string {
  const wanted = value?.split(',').map((v) => v.split(';')[0]!.trim().toLowerCase());
  return wanted?.find((v) => ACCEPTS.has(v)) ?? 'application/json';
}

export function anthropicVersion(value: string | undefined): string {
  return value !== undefined && ANTHROPIC_VERSION.test(value.trim()) ? value.trim() : '2023-06-01';
}

/** The beta flags that look like beta flags; undefined when none do. */
export function anthropicBeta(value: string | undefined): string | undefined {
  const flags = (value ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter((f) => ANTHROPIC_BETA.test(f));
  return flags.length > 0 ? flags.join(',') : undefined;
}

/** Keeps only allow-listed headers with well-formed values (applied after trace context is injected). */
export function allowListed(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (!UPSTREAM_HEADER_ALLOW_LIST.has(key)) continue;
    if (key === 'traceparent' && !TRACEPARENT.test(value)) continue;
    out[key] = value;
  }
  return out;
}
