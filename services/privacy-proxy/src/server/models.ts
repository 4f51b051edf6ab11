import { authenticate } from './authenticate.js';
import type { ProxyContext } from './context.js';
import { idShaped, providerOf, queryOf, type Exchange } from './exchange.js';

/** `GET /v1/models`: the provider's model list, passed through as it came (nothing in it is masked). */
export async function models(ctx: ProxyContext, x: Exchange): Promise<void> {
  await authenticate(ctx.options.verifier, x);
  const provider = providerOf(x)!;
  const response = await ctx.upstream.forward(
    x,
    provider,
    ctx.upstream.url(provider, '/models', modelsQuery(queryOf(x.req))),
    { method: 'GET' },
  );
  const body = await response.body.bytes();
  x.res.writeHead(response.status, {
    'content-type': response.header('content-type') ?? 'application/json',
    'content-length': body.length,
  });
  x.res.end(body);
}

/**
 * The model list's query: its paging parameters with id-shaped values, nothing else. The list holds no
 * personal data and the proxy scans no body here, so nothing else a caller appends is forwarded.
 */
function modelsQuery(query: string): string {
  const kept = new URLSearchParams();
  for (const [key, value] of new URLSearchParams(query.slice(1)))
    if (['limit', 'before_id', 'after_id'].includes(key) && idShaped(value, 128)) kept.append(key, value);
  const text = kept.toString();
  return text ? `?${text}` : '';
}
