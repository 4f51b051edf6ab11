/**
 * The texts inside a URL that a person may have written: user info, every path segment, every query
 * key and value, the fragment — decoded, so `maria%40example.org` is scanned as `maria@example.org`.
 * The host stays as it is (a host is where the request goes, not what it says).
 */
export interface UrlTexts {
  readonly texts: readonly string[];
  /** The URL with `texts` replaced (same order); the original string when nothing changed. */
  rebuild(masked: readonly string[]): string;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Undefined when `value` is not an absolute URL (the caller scans it as plain text then). */
export function urlTexts(value: string): UrlTexts | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const username = decode(url.username);
  const password = decode(url.password);
  const segments = url.pathname.split('/').map(decode);
  const query = [...url.searchParams.entries()];
  const hash = decode(url.hash.slice(1));
  const texts = [username, password, ...segments, ...query.flat(), hash];
  return {
    texts,
    rebuild(masked) {
      if (masked.every((t, i) => t === texts[i])) return value;
      let i = 0;
      const next = () => masked[i++] ?? '';
      const out = new URL(value);
      const user = next();
      const pass = next();
      if (user !== username) out.username = encodeURIComponent(user);
      if (pass !== password) out.password = encodeURIComponent(pass);
      const path = segments.map(() => next());
      if (path.some((s, k) => s !== segments[k])) out.pathname = path.map(encodeURIComponent).join('/');
      const params = query.map(() => [next(), next()] as [string, string]);
      if (params.some(([k, v], n) => k !== query[n]![0] || v !== query[n]![1]))
        out.search = new URLSearchParams(params).toString();
      const fragment = next();
      if (fragment !== hash) out.hash = encodeURIComponent(fragment);
      return out.toString();
    },
  };
}

/** The request's own query string (`?a=b&c`, or empty): its keys and values, decoded. */
export function queryTexts(query: string): UrlTexts {
  if (query === '' || query === '?') return { texts: [], rebuild: () => query };
  const entries = [...new URLSearchParams(query.slice(1)).entries()];
  const texts = entries.flat();
  return {
    texts,
    rebuild(masked) {
      if (masked.every((t, i) => t === texts[i])) return query;
      const params: [string, string][] = entries.map((_, n) => [
        masked[2 * n] ?? '',
        masked[2 * n + 1] ?? '',
      ]);
      return `?${new URLSearchParams(params).toString()}`;
    },
  };
}
