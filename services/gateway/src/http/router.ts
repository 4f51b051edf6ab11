import type { HttpMethod } from '../routes/route.js';

interface Compiled<T> {
  method: HttpMethod;
  template: string;
  pattern: RegExp;
  names: string[];
  value: T;
}

export type RouteMatch<T> =
  | { found: true; value: T; template: string; params: Record<string, string> }
  | { found: false; allowed: HttpMethod[] };

/**
 * Matches request paths against OpenAPI-style templates (`/v1/sessions/{id}/events`). Literal
 * segments win over parameters (`/v1/profiles/x` never shadows a literal route), and a path that
 * exists under another method reports the methods it allows (405 instead of 404).
 */
export class Router<T> {
  private readonly routes: Compiled<T>[] = [];

  add(method: HttpMethod, template: string, value: T): void {
    const names: string[] = [];
    const source = template
      .split('/')
      .map((segment) => {
        const param = /^\{([A-Za-z][A-Za-z0-9_]*)\}$/.exec(segment);
        if (param?.[1]) {
          names.push(param[1]);
          return '([^/]+)';
        }
        return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    if (this.routes.some((r) => r.method === method && r.template === template)) {
      throw new Error(`route defined twice: ${method} ${template}`);
    }
    this.routes.push({ method, template, pattern: new RegExp(`^${source}/?$`), names, value });
    // Fewer parameters first, so literal segments take precedence.
    this.routes.sort((a, b) => a.names.length - b.names.length);
  }

  match(method: string, path: string): RouteMatch<T> {
    const allowed: HttpMethod[] = [];
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
        allowed.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      let malformed = false;
      route.names.forEach((name, i) => {
        try {
          params[name] = decodeURIComponent(m[i + 1] ?? '');
        } catch {
          malformed = true;
        }
      });
      if (malformed) continue;
      return { found: true, value: route.value, template: route.template, params };
    }
    return { found: false, allowed: [...new Set(allowed)] };
  }
}
