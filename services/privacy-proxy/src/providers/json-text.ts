import type { Restorer } from '@orgmesh/privacy';

type Container = Record<string, unknown> | unknown[];

/** A string inside a request document that the proxy may rewrite. */
interface TextRef {
  readonly holder: Container;
  readonly key: string | number;
  readonly text: string;
  /** Set when the string is inside a JSON document that is itself a string (tool-call arguments). */
  readonly document?: EmbeddedDocument;
}

interface EmbeddedDocument {
  readonly holder: Container;
  readonly key: string | number;
  readonly value: unknown;
  changed: boolean;
}

/**
 * Keys whose values are identifiers, protocol fields or opaque data, never text a person wrote:
 * rewriting them would break the request (or a signature) and they carry no personal data.
 */
const SKIP_KEYS = new Set([
  'model',
  'role',
  'type',
  'id',
  'tool_call_id',
  'tool_use_id',
  'name',
  'signature',
  'data',
  'file_data',
  'media_type',
  'cache_control',
  'tool_choice',
  'stream',
  'stream_options',
  'image_url',
  'input_audio',
  'reasoning_effort',
  'service_tier',
  'modalities',
  'encrypted_content',
]);

/** JSON-string fields that hold a JSON document (OpenAI `function.arguments`). */
const EMBEDDED_JSON_KEYS = new Set(['arguments']);

/**
 * Fields whose content is the caller's own data, not protocol: Anthropic `tool_use.input` (and the
 * parsed OpenAI `arguments`). Inside them no key is skipped — `{"employee":{"name":"…"}}` is exactly
 * what must be masked — whatever the key names happen to be.
 */
const FREE_FORM_KEYS = new Set(['input']);

/**
 * Every text of a request document the provider would read: messages, system prompt, tool arguments
 * and tool results, tool descriptions, metadata. Apply replacements with {@link applyTexts}.
 */
export function collectTexts(document: unknown): TextRef[] {
  const refs: TextRef[] = [];
  walk(document, refs, undefined, false);
  return refs;
}

function walk(value: unknown, refs: TextRef[], document: EmbeddedDocument | undefined, freeForm: boolean): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) visit(value, i, value[i], refs, document, freeForm);
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (!freeForm && SKIP_KEYS.has(key)) continue;
      visit(obj, key, obj[key], refs, document, freeForm || FREE_FORM_KEYS.has(key));
    }
  }
}

function visit(
  holder: Container,
  key: string | number,
  value: unknown,
  refs: TextRef[],
  document: EmbeddedDocument | undefined,
  freeForm: boolean,
): void {
  if (typeof value === 'string') {
    if (value.length === 0 || value.startsWith('data:')) return;
    if (document === undefined && typeof key === 'string' && EMBEDDED_JSON_KEYS.has(key)) {
      const parsed = tryParse(value);
      if (parsed !== undefined && typeof parsed === 'object' && parsed !== null) {
        const embedded: EmbeddedDocument = { holder, key, value: parsed, changed: false };
        walk(parsed, refs, embedded, true);
        return;
      }
    }
    refs.push({ holder, key, text: value, document });
  } else if (value !== null && typeof value === 'object') {
    walk(value, refs, document, freeForm);
  }
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function set(holder: Container, key: string | number, value: unknown): void {
  (holder as Record<string | number, unknown>)[key] = value;
}

/** Writes masked texts back (same order as collected); returns whether anything changed. */
export function applyTexts(refs: readonly TextRef[], texts: readonly string[]): boolean {
  let changed = false;
  const documents = new Set<EmbeddedDocument>();
  refs.forEach((ref, i) => {
    const text = texts[i]!;
    if (text === ref.text) return;
    changed = true;
    set(ref.holder, ref.key, text);
    if (ref.document) {
      ref.document.changed = true;
      documents.add(ref.document);
    }
  });
  for (const doc of documents) set(doc.holder, doc.key, JSON.stringify(doc.value));
  return changed;
}

const RESPONSE_SKIP_KEYS = new Set([
  'id',
  'model',
  'object',
  'type',
  'role',
  'finish_reason',
  'stop_reason',
  'signature',
  'system_fingerprint',
  'name',
  'tool_call_id',
  'tool_use_id',
  'data',
]);

/**
 * Restores placeholders in every string of a response document. `arguments` strings are JSON
 * documents: restored values are escaped for the JSON string they land in.
 */
export function restoreDocument(value: unknown, text: Restorer, json: Restorer, freeForm = false): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) restoreEntry(value, i, value[i], text, json, freeForm);
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (freeForm || !RESPONSE_SKIP_KEYS.has(key)) restoreEntry(obj, key, obj[key], text, json, freeForm || FREE_FORM_KEYS.has(key));
    }
  }
}

function restoreEntry(
  holder: Container,
  key: string | number,
  value: unknown,
  text: Restorer,
  json: Restorer,
  freeForm: boolean,
): void {
  if (typeof value === 'string') {
    const restored = key === 'arguments' && !freeForm ? json.restore(value) : text.restore(value);
    if (restored !== value) set(holder, key, restored);
  } else if (value !== null && typeof value === 'object') {
    restoreDocument(value, text, json, freeForm);
  }
}
