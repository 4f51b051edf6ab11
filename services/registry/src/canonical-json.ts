import { createHash } from 'node:crypto';

// One canonical JSON for the whole mesh (libs/contracts): config hashes, signatures, comparisons.
export { canonicalJson } from '@orgmesh/contracts';

export function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex');
}
