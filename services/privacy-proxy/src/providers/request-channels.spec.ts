import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { classifyPath } from './request-channels.js';

const here = dirname(fileURLToPath(import.meta.url));
const PATHS_FILE = join(here, 'request-paths.json');
const DERIVE = join(here, '../../scripts/derive-request-paths.mjs');

interface DerivedPaths {
  readonly derivedFrom: Record<string, string>;
  readonly openai: readonly string[];
  readonly anthropic: readonly string[];
}

const checkedIn = JSON.parse(readFileSync(PATHS_FILE, 'utf8')) as DerivedPaths;

describe('channel table (request-channels.ts) against the SDKs’ request schemas', () => {
  it.each(['openai', 'anthropic'] as const)('classifies every %s request path', (api) => {
    const paths = checkedIn[api];
    // The list is the whole schema, not a sample: both APIs have over a hundred leaf paths.
    expect(paths.length).toBeGreaterThan(api === 'openai' ? 100 : 900);
    const unclassified = paths.filter((p) => classifyPath(p) === 'unknown');
    expect(unclassified).toEqual([]);
  });

  it('the checked-in path list is what the installed SDKs declare (re-derive after an SDK upgrade)', () => {
    const fresh = JSON.parse(execFileSync(process.execPath, [DERIVE], { encoding: 'utf8' })) as DerivedPaths;
    expect(fresh.derivedFrom).toEqual(checkedIn.derivedFrom);
    expect(fresh.openai).toEqual(checkedIn.openai);
    expect(fresh.anthropic).toEqual(checkedIn.anthropic);
  }, 60_000);

  it.each([
    ['messages[].content[]:text.text', 'text'],
    ['messages[].content[]:image_url.image_url.url', 'url'],
    ['messages[].content[]:file.file.file_data', 'binary'],
    ['messages[].content[]:file.file.file_id', 'identifier'],
    ['messages[].content[]:file.file.filename', 'text'],
    ['messages[].content[]:input_audio.input_audio.data', 'binary'],
    ['messages[].tool_calls[]:function.function.arguments', 'json-text'],
    ['messages[].tool_calls[]:function.function.name', 'identifier'],
    ['messages[].name', 'text'],
    ['tools[]:function.function.parameters.*', 'json'],
    ['messages[].content[]:document.source:text.data', 'text'],
    ['messages[].content[]:document.source:base64.data', 'binary'],
    ['messages[].content[]:document.source:url.url', 'url'],
    ['messages[].content[]:document.source:content.content[]:text.text', 'text'],
    ['messages[].content[]:tool_result.content[]:document.source:text.data', 'text'],
    ['messages[].content[]:tool_result.content[]:image.source:base64.data', 'binary'],
    ['messages[].content[]:tool_use.input.*', 'json'],
    ['messages[].content[]:thinking.signature', 'sealed'],
    ['messages[].content[]:redacted_thinking.data', 'sealed'],
    ['system[]:text.text', 'text'],
    ['tools[]:custom.input_schema:object.properties.*', 'json'],
    ['metadata.user_id', 'json'],
    ['model', 'identifier'],
    ['max_tokens', 'opaque'],
  ])('%s is %s', (path, cls) => {
    expect(classifyPath(path)).toBe(cls);
  });

  it('does not know fields the APIs do not have, and a known name inside them stays unknown', () => {
    expect(classifyPath('note')).toBe('unknown');
    expect(classifyPath('messages[].content[]:text.extra')).toBe('unknown');
    // `name` is an identifier where the table puts it, not inside a field the table does not know.
    expect(classifyPath('extra.name')).toBe('unknown');
    expect(classifyPath('messages[].content[]:sneaky.data')).toBe('unknown');
  });
});
