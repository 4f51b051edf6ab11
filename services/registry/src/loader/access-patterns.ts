const GLOB = /[*?[\]{}]/;

/** `./finance/` → `finance`; segments of a workspace-relative path or glob. */
export function normalizePattern(pattern: string): string {
  return pattern.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/**
 * Whether two workspace paths/globs can match a common file. Conservative: segments are compared
 * up to the first glob segment, beyond which overlap is assumed; a directory overlaps everything
 * beneath it (`finance` and `finance/ledger/**` overlap, `finance/ledger/**` and `finance/reports/**` do not).
 */
export function patternsOverlap(a: string, b: string): boolean {
  const sa = normalizePattern(a).split('/');
  const sb = normalizePattern(b).split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const x = sa[i] ?? '';
    const y = sb[i] ?? '';
    if (GLOB.test(x) || GLOB.test(y)) return true;
    if (x !== y) return false;
  }
  return true;
}
