import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { checkJsonBounds, JSON_LIMITS } from '@orgmesh/contracts';
import { ROOT_PATH, type Problem } from './problem.js';

/** A parsed YAML file that can point problems back at a line and column. */
export interface YamlSource {
  readonly file: string;
  readonly data: unknown;
  readonly doc: Document;
  readonly lineCounter: LineCounter;
}

export type YamlParseResult = { ok: true; source: YamlSource } | { ok: false; problems: Problem[] };

export function parseYaml(file: string, content: string): YamlParseResult {
  const lineCounter = new LineCounter();
  // uniqueKeys (the default) turns a repeated key into an error rather than a silent override.
  const doc = parseDocument(content, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const position = lineCounter.linePos(error.pos[0]);
        return {
          file,
          path: ROOT_PATH,
          reason: `invalid YAML: ${firstLine(error.message)}`,
          line: position.line,
          column: position.col,
        };
      }),
    };
  }
  const data = doc.toJS({ maxAliasCount: 100 }) as unknown;
  // YAML escapes ("\0", "\ud800") make NUL and lone surrogates out of clean text, and the model is
  // stored as jsonb: the parsed document meets the rule every stored string meets (ADR 0008).
  const unsafe = checkJsonBounds(data, { maxDepth: JSON_LIMITS.maxDepth, maxNodes: YAML_MAX_VALUES });
  if (unsafe)
    return { ok: false, problems: [{ file, path: unsafe.path || ROOT_PATH, reason: unsafe.message }] };
  return { ok: true, source: { file, data, doc, lineCounter } };
}

/** Values per registry file: far above any profile or agent (a 1 MB deny list included). */
const YAML_MAX_VALUES = 1_000_000;

function firstLine(message: string): string {
  // The yaml library appends " at line L, column C:" and a code excerpt; the position is reported separately.
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Line and column of the deepest node along `path` (the key itself when `pointAtKey`), so a
 * problem about a missing key points at the object that lacks it.
 */
export function locate(
  source: YamlSource,
  path: ReadonlyArray<PropertyKey>,
  pointAtKey = false,
): { line: number; column: number } | undefined {
  let node: unknown = source.doc.contents;
  let offset = rangeStart(node);
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) break;
      const isLast = i === path.length - 1;
      offset =
        (isLast && pointAtKey ? rangeStart(pair.key) : rangeStart(pair.value)) ??
        rangeStart(pair.key) ??
        offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else break;
  }
  if (offset === undefined) return undefined;
  const { line, col } = source.lineCounter.linePos(offset);
  return { line, column: col };
}

function rangeStart(node: unknown): number | undefined {
  return node && typeof node === 'object' && 'range' in node ? (node as Node).range?.[0] : undefined;
}
