import { createHash } from 'node:crypto';
import type { RenderedFile } from './registry.schema.js';

/**
 * The config hash of a rendered agent config: `sha256:<hex>` over the files sorted by path
 * (code-point order), each as path, NUL, content, NUL. The registry computes it for every config it
 * renders, the agents and `orgmesh agent run` recompute it from what they really run on and report it
 * in each heartbeat; a difference is drift. Defined here, once, because all three must agree to the
 * byte: independent of the order the files are given in, and path/content framing so that moving a
 * character from a path to its content changes the hash.
 */
export function configHash(files: readonly RenderedFile[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(file.path, 'utf8').update('\0').update(file.content, 'utf8').update('\0');
  }
  return `sha256:${hash.digest('hex')}`;
}
