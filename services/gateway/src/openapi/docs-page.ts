import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { findPackageJSON } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

type Json = Record<string, unknown>;

/** Where the gateway serves the API reference renderer (Scalar's standalone bundle, ADR 0012). */
export const DOCS_RENDERER_PATH = '/docs/scalar-api-reference.js';

/** The bundle's file name in the build (scripts/build.mjs copies it there, from package.json `orgmesh.assets`). */
const BUILT_RENDERER = './assets/scalar-api-reference.js';
const RENDERER_PACKAGE = '@scalar/api-reference';
const RENDERER_IN_PACKAGE = ['dist', 'browser', 'standalone.js'];

/**
 * Renderer options. Everything that would reach beyond the gateway is off: fonts from Scalar's CDN,
 * telemetry, the AI agent (on by default on localhost), MCP, the developer tools; no proxy is set,
 * so try-it calls the gateway directly (same origin, no CORS needed).
 */
const RENDERER_CONFIGURATION = {
  url: '/openapi.json',
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  mcp: { disabled: true },
  showDeveloperTools: 'never',
  documentDownloadType: 'json',
  persistAuth: false,
  hideClientButton: false,
  defaultOpenFirstTag: true,
  orderRequiredPropertiesFirst: true,
};

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/**
 * The /docs page: a shell that loads the renderer from the gateway itself and points it at
 * /openapi.json. No CDN, no external URL: the gateway may run without internet.
 */
export function renderDocsPage(document: Json): string {
  const info = (document['info'] ?? {}) as Json;
  const title = `${String(info['title'] ?? 'API')} ${String(info['version'] ?? '')} — API reference`.trim();
  // JSON in a script element: `<` escaped so no value can close the element.
  const configuration = JSON.stringify(RENDERER_CONFIGURATION).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
</head>
<body>
<noscript>This reference needs JavaScript. The API description is <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="reference"></div>
<script src="${DOCS_RENDERER_PATH}"></script>
<script>Scalar.createApiReference('#reference', ${configuration});</script>
</body>
</html>
`;
}

export interface DocsAsset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

/** The renderer bundle: next to this module in a build, else from node_modules (tests run the sources). */
export function docsRendererFile(): string {
  const built = fileURLToPath(new URL(BUILT_RENDERER, import.meta.url));
  if (existsSync(built)) return built;
  const manifest = findPackageJSON(RENDERER_PACKAGE, import.meta.url);
  if (!manifest) throw new Error(`${RENDERER_PACKAGE} not found: run npm install, or npm run build`);
  return join(dirname(manifest), ...RENDERER_IN_PACKAGE);
}

let renderer: Promise<DocsAsset> | undefined;

/** Read and compressed once, on the first request for it (about 4.9 MB, 1.4 MB gzipped). */
export function docsRenderer(): Promise<DocsAsset> {
  renderer ??= (async () => {
    const body = await readFile(docsRendererFile());
    return {
      type: 'text/javascript; charset=utf-8',
      body,
      gzip: await promisify(gzip)(body),
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    };
  })();
  // A failed read is not cached: the next request tries again.
  renderer.catch(() => (renderer = undefined));
  return renderer;
}
