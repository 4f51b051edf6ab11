type Json = Record<string, unknown>;

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

function json(value: unknown): string {
  return escapeHtml(JSON.stringify(value, null, 2));
}

/**
 * A self-contained HTML rendering of the OpenAPI document (no scripts, no CDN: the gateway may run
 * without internet): each operation with its access rule, parameters, request and response schemas.
 */
export function renderDocsPage(document: Json): string {
  const info = (document['info'] ?? {}) as Json;
  const paths = (document['paths'] ?? {}) as Record<string, Record<string, Json>>;
  const byTag = new Map<string, string[]>();
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = ((op['tags'] as string[] | undefined) ?? ['other'])[0] ?? 'other';
      const access = op['x-orgmesh-access'];
      const params = ((op['parameters'] as Json[] | undefined) ?? [])
        .map((p) =>
          p['$ref']
            ? String(p['$ref']).split('/').pop()
            : `${String(p['name'])} (${String(p['in'])}${p['required'] ? ', required' : ''})`,
        )
        .join(', ');
      const body = (op['requestBody'] as Json | undefined)?.['content'];
      const responses = op['responses'] as Record<string, Json>;
      const html = `
<section class="op" id="${escapeHtml(String(op['operationId']))}">
  <h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code> — ${escapeHtml(String(op['summary'] ?? ''))}</h3>
  ${op['description'] ? `<p>${escapeHtml(String(op['description']))}</p>` : ''}
  <p class="meta">operationId <code>${escapeHtml(String(op['operationId']))}</code> · access <code>${escapeHtml(Array.isArray(access) ? access.join(', ') : String(access))}</code>${op['x-orgmesh-grpc'] ? ` · gRPC <code>${escapeHtml(String(op['x-orgmesh-grpc']))}</code>` : ''}</p>
  ${params ? `<p class="meta">parameters: ${escapeHtml(params)}</p>` : ''}
  ${body ? `<details><summary>request body</summary><pre>${json(body)}</pre></details>` : ''}
  <details><summary>responses: ${Object.keys(responses).map(escapeHtml).join(', ')}</summary><pre>${json(responses)}</pre></details>
</section>`;
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
    }
  }
  const sections = [...byTag.entries()]
    .map(([tag, ops]) => `<h2>${escapeHtml(tag)}</h2>${ops.join('')}`)
    .join('\n');
  const components = (document['components'] ?? {}) as Json;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(String(info['title'] ?? 'API'))}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font:13px ui-monospace,monospace}pre{background:#f6f6f6;padding:.75rem;overflow:auto;max-height:30rem}
.op{border-top:1px solid #ddd;padding:.5rem 0}.m{display:inline-block;min-width:4.5rem;color:#fff;border-radius:3px;padding:0 .4rem;text-align:center;font-size:13px}
.get{background:#2b7}.post{background:#27c}.put{background:#c72}.patch{background:#a5c}.delete{background:#c33}.meta{color:#666;margin:.2rem 0}
</style></head><body>
<h1>${escapeHtml(String(info['title'] ?? 'API'))} <small>${escapeHtml(String(info['version'] ?? ''))}</small></h1>
<p>${escapeHtml(String(info['description'] ?? ''))}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(String(document['openapi']))}).</p>
${sections}
<h2>schemas</h2>
<details><summary>components</summary><pre>${json(components['schemas'] ?? {})}</pre></details>
</body></html>`;
}
