/**
 * The only request headers that reach a model provider. Everything a client sends is dropped unless
 * rebuilt here: SDK telemetry (`x-stainless-*`, `user-agent`), cookies, the caller's orgmesh token,
 * session ids — and every trace header: W3C `tracestate` and `baggage` are free-form key/value lists a
 * caller or a tracing vendor may fill with anything (`tracestate: ssn=512-44-7391` would go out
 * verbatim), and `traceparent` (like B3, `sentry-trace`, `x-cloud-trace-context`) carries orgmesh's
 * trace id, which every model call of one workflow shares: the provider could link those calls, and
 * the workflow's placeholders, across roles and hand-offs. The proxy's own client span still records
 * the upstream call in orgmesh's trace; the provider's side is tied to it by its response's request id.
 */
export const UPSTREAM_HEADER_ALLOW_LIST: ReadonlySet<string> = new Set([
  'content-type',
  'accept',
  'accept-encoding',
  'authorization',
  'x-api-key',
  'anthropic-version',
  'anthropic-beta',
]);

const ACCEPTS = new Set(['application/json', 'text/event-stream']);
/** `2023-06-01`: Anthropic versions are dates. */
const ANTHROPIC_VERSION = /^\d{4}-\d{2}-\d{2}$/;
/** `prompt-caching-2024-07-31`: a feature name and its date; anything else is not forwarded. */
const ANTHROPIC_BETA = /^[a-z][a-z0-9-]{0,62}-\d{4}-\d{2}-\d{2}$/;

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

/** Keeps only allow-listed headers: the last filter before the upstream call, whatever built them. */
export function allowListed(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (UPSTREAM_HEADER_ALLOW_LIST.has(key)) out[key] = value;
  }
  return out;
}
