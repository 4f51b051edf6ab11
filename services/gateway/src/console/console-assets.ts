import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Where the gateway serves the operator console (ADR 0020). */
export const CONSOLE_PATH = '/console/';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json',
};

/** Types worth compressing (images and fonts are compressed already). */
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt', '.webmanifest']);

export interface ConsoleAsset {
  type: string;
  body: Buffer;
  gzip: Buffer | undefined;
  etag: string;
  /** Hashed file names (`assets/index-<hash>.js`) never change content: cached for a year. */
  immutable: boolean;
}

/**
 * The console's build (`console/dist`, made by `npm run build`), found by walking up from this
 * module and from the working directory, so it resolves from `src/` under jest, from `dist/` under
 * `npm start`, and in the image (which carries every workspace's dist/).
 */
export function findConsoleDist(): string | undefined {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    let dir = resolve(start);
    for (;;) {
      const candidate = join(dir, 'console', 'dist');
      if (existsSync(join(candidate, 'index.html'))) return candidate;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return undefined;
}

/**
 * The console's files, read on demand and kept with their gzip form until the file changes on disk
 * (a rebuild while the gateway runs is picked up at the next request).
 */
export class ConsoleAssets {
  private readonly cache = new Map<string, { mtimeMs: number; size: number; asset: ConsoleAsset }>();

  constructor(readonly root: string | undefined) {}

  /** Whether a build is there (it may appear after the gateway started: `npm run build` meanwhile). */
  available(): boolean {
    return this.root !== undefined && existsSync(join(this.root, 'index.html'));
  }

  /**
   * The asset at a path below /console/ (`assets/index-x.js`), or index.html for a client-side page
   * (a last segment without an extension); undefined when there is no such file. Paths that leave
   * the build directory are never read.
   */
  async get(relativePath: string): Promise<ConsoleAsset | undefined> {
    if (!this.root) return undefined;
    const clean = relativePath.replace(/^\/+/, '');
    if (clean.includes('\0') || clean.split('/').some((s) => s === '..' || s.startsWith('.')))
      return undefined;
    const wanted = clean === '' || !extname(clean) ? 'index.html' : clean;
    const file = normalize(join(this.root, wanted));
    if (!file.startsWith(this.root + sep)) return undefined;
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const cached = this.cache.get(file);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.asset;
    const body = await readFile(file);
    const ext = extname(file);
    const asset: ConsoleAsset = {
      type: TYPES[ext] ?? 'application/octet-stream',
      body,
      gzip: COMPRESSIBLE.has(ext) ? gzipSync(body, { level: 9 }) : undefined,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      immutable: wanted.startsWith('assets/'),
    };
    this.cache.set(file, { mtimeMs: info.mtimeMs, size: info.size, asset });
    return asset;
  }
}
