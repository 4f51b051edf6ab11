/**
 * JSON with object keys sorted at every level (arrays keep their order), so equal values always
 * serialise to equal bytes: what is hashed or signed (config hashes, profile signatures), and how two
 * values are compared when one came back from Postgres jsonb, which does not keep the sender's key
 * order. `indent` 0 gives the compact form used for hashing.
 */
export function canonicalJson(value: unknown, indent = 0): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

function sortKeys(value: unknown): unknown {
  // As JSON.stringify would: a Date (or anything with toJSON) is its JSON form before its keys.
  const json = (value as { toJSON?: () => unknown } | null)?.toJSON;
  if (typeof json === 'function') value = json.call(value);
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
