// Derives every JSON path of the two request bodies the proxy forwards from the official SDKs' type
// definitions in node_modules (TypeScript's checker, so unions, aliases and inherited members are
// resolved as a compiler sees them). The output is checked in as src/providers/request-paths.json;
// request-channels.spec.ts fails when a path has no classification, and when the installed SDKs
// declare paths the checked-in list lacks (run this script after upgrading either SDK).
//
//   node services/privacy-proxy/scripts/derive-request-paths.mjs > services/privacy-proxy/src/providers/request-paths.json
//
// Path grammar: keys joined by `.`, `[]` for an array element, `:<type>` after an object whose `type`
// property is a string literal (the discriminator of content blocks, tools and sources), `*` for a
// free-form object (index signature or `unknown`): whatever lies below it is caller data.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const require = createRequire(join(root, 'package.json'));
const ts = require('typescript');

const ROOTS = {
  openai: { module: 'openai/resources/chat/completions/completions', type: 'ChatCompletionCreateParamsBase', pkg: 'openai' },
  anthropic: { module: '@anthropic-ai/sdk/resources/messages/messages', type: 'MessageCreateParamsBase', pkg: '@anthropic-ai/sdk' },
};

const dir = mkdtempSync(join(tmpdir(), 'request-paths-'));
const entry = join(dir, 'entry.ts');
writeFileSync(
  entry,
  Object.entries(ROOTS)
    .map(([name, r]) => `import type { ${r.type} as ${name}Root } from '${r.module}';\nexport type ${name} = ${name}Root;\n`)
    .join(''),
);
const program = ts.createProgram([entry], {
  strict: true,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  noEmit: true,
  skipLibCheck: true,
  baseUrl: root,
  typeRoots: [],
  types: [],
  paths: { '*': [join(root, 'node_modules/*')] },
});
const checker = program.getTypeChecker();
const source = program.getSourceFile(entry);
const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(source));

function leafKind(type) {
  // `(string & {}) | 'gpt-4o'`: a string the SDK keeps open for new model names.
  if (type.isIntersection() && type.types.some((t) => leafKind(t) === 'string')) return 'string';
  if (type.flags & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral | ts.TypeFlags.TemplateLiteral)) return 'string';
  if (type.flags & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) return 'number';
  if (type.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return 'boolean';
  if (type.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined | ts.TypeFlags.Void)) return undefined;
  if (type.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) return 'any';
  return 'object';
}

function walk(type, path, out, stack) {
  if (type.isUnion()) {
    for (const member of type.types) walk(member, path, out, stack);
    return;
  }
  const kind = leafKind(type);
  if (kind === undefined) return;
  if (kind === 'any') {
    out.add(`${path}.*`);
    return;
  }
  if (kind !== 'object') {
    out.add(path);
    return;
  }
  if (checker.isArrayType(type) || checker.isTupleType(type)) {
    for (const element of checker.getTypeArguments(type)) walk(element, `${path}[]`, out, stack);
    return;
  }
  if (stack.includes(type) || stack.length > 24) return;
  const properties = checker.getPropertiesOfType(type);
  const index = checker.getIndexInfosOfType(type);
  const typeProp = properties.find((p) => p.name === 'type');
  let prefix = path;
  if (typeProp) {
    const t = checker.getTypeOfSymbol(typeProp);
    const literals = (t.isUnion() ? t.types : [t]).filter((m) => m.isStringLiteral()).map((m) => m.value);
    if (literals.length > 0) {
      for (const literal of literals) walkObject(type, properties, index, `${path}:${literal}`, out, [...stack, type]);
      return;
    }
  }
  walkObject(type, properties, index, prefix, out, [...stack, type]);
}

function walkObject(type, properties, index, path, out, stack) {
  if (index.length > 0) out.add(`${path}.*`);
  if (properties.length === 0 && index.length === 0) out.add(`${path}.*`);
  for (const property of properties) {
    const t = checker.getNonNullableType(checker.getTypeOfSymbol(property));
    walk(t, path === '' ? property.name : `${path}.${property.name}`, out, stack);
  }
}

const result = { derivedFrom: {}, generatedBy: 'services/privacy-proxy/scripts/derive-request-paths.mjs' };
for (const [name, r] of Object.entries(ROOTS)) {
  const symbol = exports.find((s) => s.name === name);
  const type = checker.getDeclaredTypeOfSymbol(symbol);
  const out = new Set();
  walkObject(type, checker.getPropertiesOfType(type), checker.getIndexInfosOfType(type), '', out, [type]);
  const version = JSON.parse(readFileSync(join(root, 'node_modules', r.pkg, 'package.json'), 'utf8')).version;
  result.derivedFrom[name] = `${r.pkg}@${version} ${r.type}`;
  result[name] = [...out].map((p) => p.replace(/^\./, '')).sort();
}
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
