import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '@orgmesh/contracts';
import { defineRawRoute, type RawRoute } from '../routes/route.js';
import { ConsoleAssets, type ConsoleAsset } from './console-assets.js';
import type { ConsoleSignIn } from './console-signin.js';

/**
 * What the console's pages may load and call: only the gateway itself (no CDN, no inline script),
 * never framed. `connect-src 'self'` covers the REST calls and the SSE stream.
 */
function consoleCsp(connect: readonly string[]): string {
  return (
    `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${["'self'", ...connect].join(' ')}; ` +
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
  );
}

function acceptsGzip(req: IncomingMessage): boolean {
  return String(req.headers['accept-encoding'] ?? '')
    .split(',')
    .some((part) => {
      const [name = '', ...params] = part.split(';').map((p) => p.trim());
      return name === 'gzip' && !params.some((p) => /^q=0(\.0*)?$/.test(p));
    });
}

function send(req: IncomingMessage, res: ServerResponse, asset: ConsoleAsset, csp: string): void {
  const headers: Record<string, string> = {
    etag: asset.etag,
    // index.html is revalidated at every load (it names the current build's hashed files); those
    // hashed files never change, so the browser keeps them for a year without asking.
    'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  if (asset.gzip) headers['vary'] = 'Accept-Encoding';
  if (asset.type.startsWith('text/html')) {
    headers['content-security-policy'] = csp;
    headers['x-frame-options'] = 'DENY';
  }
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzipped = asset.gzip !== undefined && acceptsGzip(req);
  const body = gzipped && asset.gzip ? asset.gzip : asset.body;
  res.writeHead(200, {
    ...headers,
    'content-type': asset.type,
    'content-length': String(body.length),
    ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * The console's static files at /console/ (no token: the page signs in by itself, and every call it
 * makes is checked like any client's). Not in the OpenAPI document: they are files, not operations.
 */
export function consoleRoutes(assets: ConsoleAssets, signIn: () => Promise<ConsoleSignIn>): RawRoute[] {
  const serve = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    req.resume();
    if (url.pathname === '/console/config.json') {
      const text = JSON.stringify(await signIn());
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    if (url.pathname === '/console') {
      res.writeHead(308, { location: `/console/${url.search}`, 'content-length': '0' });
      res.end();
      return;
    }
    if (!assets.available()) {
      throw new AppError(
        'unavailable',
        'the console is not built: run npm run build (it bundles console/ with vite)',
        {
          details: { retryAfterSec: 60 },
        },
      );
    }
    const asset = await assets.get(url.pathname.slice('/console/'.length));
    if (!asset) throw new AppError('not_found', `no console file at ${url.pathname.slice(0, 200)}`);
    // With an external provider the console redeems its code there: its token endpoint joins connect-src.
    const provider = asset.type.startsWith('text/html')
      ? await signIn().then(
          (s) => (s.mode === 'oidc' ? [new URL(s.tokenEndpoint).origin] : []),
          () => [],
        )
      : [];
    send(req, res, asset, consoleCsp(provider));
  };
  const route = (path: string, operationId: string) =>
    defineRawRoute({
      operationId,
      method: 'GET',
      path,
      tag: 'console',
      summary: 'The operator console (static files)',
      access: 'public',
      responses: { 200: { description: 'A file of the console', contentType: 'text/html' } },
      handle: (req, res, ctx) => serve(req, res, ctx.url),
    });
  return [
    route('/console', 'consoleIndex'),
    route('/console/{page}', 'consolePage'),
    route('/console/assets/{file}', 'consoleAsset'),
  ];
}
