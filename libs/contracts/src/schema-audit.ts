import type { z } from 'zod';
import { PageCursor } from './cursor.js';

type Internals = { _zod: { def: Record<string, unknown> & { type: string } } };

/**
 * The zod 4 definition types that wrap one schema (`def.innerType`) and take what it takes (or
 * also undefined, null, a default or a fallback): code that walks a schema's tree (this audit,
 * the bus fuzzer's value generator) looks through them to the wrapped schema.
 */
export const ZOD_WRAPPER_TYPES: ReadonlySet<string> = new Set([
  'optional',
  'nullable',
  'default',
  'prefault',
  'readonly',
  'catch',
  'nonoptional',
]);

function deepArray(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

function refuses(schema: z.ZodType, value: unknown, why: RegExp): boolean {
  const result = schema.safeParse(value);
  return (
    !result.success && result.error.issues.some((i) => i.code === 'invalid_format' || why.test(i.message))
  );
}

/**
 * Names every place in a request schema where a hostile value could get through (ADR 0008): a
 * string that takes NUL or a lone surrogate (probed: `safeText`, an id regex or a format all
 * refuse them), and free-form JSON without the depth/node bounds (`boundedJson`). A test helper
 * for contract and edge schemas; an empty list means the schema meets the rule. `opaque` names
 * paths deliberately left to a later parser (page cursors); `PageCursor` itself always is.
 */
export function unsafeSchemaPlaces(
  schema: z.ZodType,
  path = '(root)',
  opaque: (path: string) => boolean = () => false,
): string[] {
  const out: string[] = [];
  walk(schema, path, opaque, out);
  return out;
}

function walk(schema: z.ZodType, path: string, opaque: (path: string) => boolean, out: string[]): void {
  if (schema === PageCursor || opaque(path)) return;
  const def = (schema as unknown as Internals)._zod.def;
  const inner = (key: string) => def[key] as z.ZodType;
  if (ZOD_WRAPPER_TYPES.has(def.type)) return walk(inner('innerType'), path, opaque, out);
  switch (def.type) {
    case 'string':
      if (!refuses(schema, 'a\u0000', /NUL/)) out.push(`${path}: takes NUL`);
      if (!refuses(schema, 'a\ud800', /surrogate/)) out.push(`${path}: takes a lone surrogate`);
      return;
    case 'object':
      for (const [key, child] of Object.entries(def['shape'] as Record<string, z.ZodType>))
        walk(child, `${path}.${key}`, opaque, out);
      return;
    case 'union':
      (def['options'] as z.ZodType[]).forEach((option, i) => walk(option, `${path}|${i}`, opaque, out));
      return;
    case 'array':
      walk(inner('element'), `${path}[]`, opaque, out);
      return;
    case 'record':
      walk(inner('keyType'), `${path}{key}`, opaque, out);
      walk(inner('valueType'), `${path}{}`, opaque, out);
      return;
    case 'pipe':
      // boundedJson()/boundedJsonOf(): a transform that checks the bounds in front of a JSON shape.
      if ((inner('in') as unknown as Internals)._zod.def.type === 'transform') {
        if (!refuses(schema, deepArray(100), /nested deeper/))
          out.push(`${path}: takes JSON 100 levels deep`);
        if (!refuses(schema, { k: 'a\u0000' }, /NUL/)) out.push(`${path}: takes NUL inside JSON`);
        return;
      }
      walk(inner('in'), path, opaque, out);
      walk(inner('out'), path, opaque, out);
      return;
    case 'lazy':
    case 'unknown':
    case 'any':
      out.push(`${path}: free-form value without bounds`);
      return;
    // A transform after a checked schema (e.g. a query boolean's enum) sees only what passed it.
    case 'transform':
    case 'enum':
    case 'literal':
    case 'number':
    case 'boolean':
    case 'null':
      return;
    default:
      out.push(`${path}: unchecked schema kind ${def.type}`);
  }
}
