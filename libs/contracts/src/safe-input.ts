import { z } from 'zod';

/**
 * What the edges refuse in any string that is stored or used as an id (issue 17): NUL (Postgres
 * text and jsonb cannot hold it) and lone UTF-16 surrogates (not encodable as UTF-8). Every
 * contract's free text and ids use these, so REST, gRPC and a raw bus caller meet the same rule.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** `text` with each lone surrogate replaced by U+FFFD (`String#toWellFormed`, absent from the es2023 typings). */
export function toWellFormed(text: string): string {
  return text.replace(LONE_SURROGATES, '\ufffd');
}

export function unsafeTextReason(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL (U+0000)';
  if (LONE_SURROGATE.test(value)) return 'must not contain a lone surrogate';
  return undefined;
}

/** A string without NUL or lone surrogates; chain `.min()`/`.max()` etc. on `z.string()` before. */
export function safeText<T extends z.ZodType<string>>(schema: T): T {
  return schema.superRefine((value, ctx) => {
    const reason = unsafeTextReason(value);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  }) as unknown as T;
}

/** Limits on free-form JSON (`input`, `metadata`, `details`, `output`); see docs/adr/0008-hostile-input.md. */
export const JSON_LIMITS = { maxDepth: 64, maxNodes: 50_000 } as const;

export interface JsonBoundsIssue {
  /** JSON path below the checked value, e.g. `a.b[3]`. */
  path: string;
  message: string;
}

/**
 * Checks depth, node count and strings (keys and values) of a JSON-like value iteratively, so a
 * value nested 100,000 levels deep is refused without using the stack. Returns the first problem.
 */
export function checkJsonBounds(
  value: unknown,
  limits: { maxDepth: number; maxNodes: number } = JSON_LIMITS,
): JsonBoundsIssue | undefined {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: '' }];
  let nodes = 0;
  while (stack.length > 0) {
    const item = stack.pop()!;
    nodes += 1;
    if (nodes > limits.maxNodes)
      return { path: item.path, message: `more than ${limits.maxNodes} JSON values` };
    if (item.depth > limits.maxDepth)
      return { path: item.path, message: `nested deeper than ${limits.maxDepth} levels` };
    const v = item.value;
    if (typeof v === 'string') {
      const reason = unsafeTextReason(v);
      if (reason) return { path: item.path, message: reason };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i -= 1)
        stack.push({ value: v[i], depth: item.depth + 1, path: `${item.path}[${i}]` });
    } else if (v !== null && typeof v === 'object') {
      for (const [key, child] of Object.entries(v)) {
        const reason = unsafeTextReason(key);
        const childPath = item.path ? `${item.path}.${key}` : key;
        if (reason) return { path: item.path, message: `key ${reason}` };
        stack.push({ value: child, depth: item.depth + 1, path: childPath });
      }
    }
  }
  return undefined;
}

/**
 * Free-form JSON within the limits: bounds are checked before `z.json()` walks the value
 * (recursively), so a deep value is refused with a validation issue, never a stack overflow.
 */
export function boundedJson(limits: { maxDepth: number; maxNodes: number } = JSON_LIMITS) {
  return boundedJsonOf(z.json(), limits);
}

/**
 * `schema` (a JSON shape, e.g. `z.record(z.string(), z.json())`) behind the same bounds check.
 * The check is a transform rather than a refinement on `z.unknown()` because JSON Schema export
 * (`io: 'input'`) documents a pipe that starts with a transform by its output, so the exported
 * schema is `schema`'s own (a JSON value), not an empty `{}`.
 */
export function boundedJsonOf<T extends z.ZodType>(
  schema: T,
  limits: { maxDepth: number; maxNodes: number } = JSON_LIMITS,
) {
  return z
    .transform((value: unknown, ctx) => {
      const issue = checkJsonBounds(value, limits);
      if (issue) {
        ctx.issues.push({
          code: 'custom',
          // zod drops `input` from finished issues unless asked to report it, so no deep value travels on.
          input: value,
          message: issue.path ? `${issue.path}: ${issue.message}` : issue.message,
        });
      }
      return value;
    })
    .pipe(schema);
}
