/**
 * The one table that says what every field of an OpenAI chat-completions or Anthropic messages request
 * is to the privacy proxy. A field the table does not know is never forwarded blind: it is "unknown"
 * and follows the profile's rule for unknown content (see request-walker.ts).
 *
 * Leaf classes (for strings, numbers and booleans):
 * - `text`: a person may have written it: scanned and masked.
 * - `url`: scanned as a URL: userinfo, every path segment, query key and value and the fragment are
 *   masked; a `data:` URL is binary content.
 * - `binary`: base64 or data-URL content: text-like media types are decoded, scanned and re-encoded,
 *   other media follow the profile's `binary` rule.
 * - `identifier`: names and ids the protocol matches on (tool and function names, `tool_call_id`,
 *   `file_id`, `model`…). Forwarded raw, by decision: masking them breaks the exchange, and they are
 *   the caller's own labels, not content (README, "Channels").
 * - `opaque`: protocol values (numbers, booleans, enums). Numbers and booleans go raw; a string here is
 *   still scanned (an enum carries no personal data, so scanning it costs nothing and changes nothing,
 *   unless someone put personal data where an enum belongs).
 * - `sealed`: provider-minted tokens (thinking `signature`, `encrypted_*`, redacted thinking): forwarded
 *   raw, they are ciphertext the provider checks.
 *
 * Subtree classes (for objects and arrays):
 * - `node`: a known container: its fields are looked up in this table.
 * - `json`: free-form caller data (tool inputs, JSON schemas, metadata): every string and key below is
 *   scanned, numbers too (refused when they hold personal data: a number cannot carry a placeholder).
 * - `json-text`: a string holding a JSON document (OpenAI `arguments`): parsed and treated as `json`;
 *   text when it does not parse.
 * - `settings`: a block of protocol switches (toolset `configs`): keys and booleans raw, strings scanned.
 *
 * Leaf classes applied to a container (`content` is a string or a list of blocks) descend as `node`.
 */
export type LeafClass = 'text' | 'url' | 'binary' | 'identifier' | 'opaque' | 'sealed';
export type SubtreeClass = 'node' | 'json' | 'json-text' | 'settings';
export type FieldClass = LeafClass | SubtreeClass;

/** Where the walker is: in the table's schema, or inside a subtree whose every value is handled alike. */
export type WalkMode = 'schema' | 'json' | 'settings' | 'unknown';

/** One step of a path: an object key (`[]` when the value is an array's element) and its `type`. */
export interface PathSegment {
  readonly key: string;
  readonly element: boolean;
  /** The object's `type` discriminator, when it has a short lowercase one. */
  readonly type?: string;
}

const TEXT = ['content', 'text', 'thinking', 'refusal', 'description', 'definition', 'cited_text'];
const TEXT_MORE = ['document_title', 'title', 'context', 'error', 'error_message', 'stdout', 'stderr'];
const TEXT_LISTS = [
  'lines[]',
  'stop',
  'stop[]',
  'stop_sequences[]',
  'allowed_domains[]',
  'blocked_domains[]',
];
const TEXT_CALLER = ['path', 'city', 'region', 'country', 'user', 'user_id', 'prompt_cache_key'];
const TEXT_CALLER_MORE = ['safety_identifier', 'filename', 'system', 'messages[].name', 'source:text.data'];

const IDENTIFIERS = [
  'model',
  'id',
  'tool_call_id',
  'tool_use_id',
  'file_id',
  'name',
  'tool_name',
  'toolset_name',
  'tool_id',
  'skill_id',
  'version',
  'container',
  'previous_message_id',
  'download_id',
  'tab_id',
  'user_profile_id',
  'workspace_id',
  'voice',
];

const OPAQUE_ENUMS = [
  'type',
  'role',
  'detail',
  'format',
  'mode',
  'ttl',
  'effort',
  'display',
  'speed',
  'service_tier',
  'reasoning_effort',
  'verbosity',
  'modalities[]',
  'inference_geo',
  'prompt_cache_retention',
  'search_context_size',
  'response_inclusion',
  'allowed_callers[]',
  'file_type',
  'syntax',
  'error_code',
  'oversized_image',
  'retrieved_at',
  'page_age',
  'timezone',
  'tool_choice',
  'function_call',
  'required[]',
  'media_type',
];

const OPAQUE_NUMBERS = [
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'top_k',
  'n',
  'seed',
  'frequency_penalty',
  'presence_penalty',
  'logprobs',
  'top_logprobs',
  'parallel_tool_calls',
  'store',
  'stream',
  'budget_tokens',
  'disable_parallel_tool_use',
  'strict',
  'defer_loading',
  'enabled',
  'eager_input_streaming',
  'is_error',
  'is_file_update',
  'active',
  'include_usage',
  'include_obfuscation',
  'use_cache',
  'max_uses',
  'max_characters',
  'max_content_tokens',
  'return_code',
  'size_bytes',
  'num_lines',
  'start_line',
  'total_lines',
  'new_start',
  'new_lines',
  'old_start',
  'old_lines',
  'document_index',
  'start_char_index',
  'end_char_index',
  'start_block_index',
  'end_block_index',
  'start_page_number',
  'end_page_number',
  'search_result_index',
];

const NODES = [
  'messages[]',
  'content[]',
  'system[]',
  'tools[]',
  'functions[]',
  'tool_calls[]',
  'function',
  'custom',
  'image_url',
  'input_audio',
  'file',
  'audio',
  'cache_control',
  'citations',
  'citations[]',
  'prompt_cache_breakpoint',
  'prompt_cache_options',
  'stream_options',
  'response_format',
  'json_schema',
  'prediction',
  'web_search_options',
  'user_location',
  'approximate',
  'moderation',
  'policy',
  'output',
  'skills[]',
  'caller',
  'transformations',
  'diagnostics',
  'output_config',
  'grammar',
  'state_changes[]',
  'tabs[]',
  'tool_references[]',
  'allowed_tools',
  'url_sources',
  'client_tool_results',
  'server_tool_results',
  'user_input',
  // `moderation.policy.input` is a switch; `input` elsewhere is a tool's input (json, below).
  'policy.input',
];

/**
 * The table. Keys are path suffixes: a field name, or `parent.field` / `grandparent.parent.field` where
 * the same name means different things in different places; the longest matching suffix wins. A parent
 * is written `key`, `key[]` (an element of the array `key`), `key:type` or `:type` (any key, that `type`).
 */
export const REQUEST_CHANNELS: ReadonlyMap<string, FieldClass> = new Map<string, FieldClass>([
  ...[...TEXT, ...TEXT_MORE, ...TEXT_LISTS, ...TEXT_CALLER, ...TEXT_CALLER_MORE].map(
    (k) => [k, 'text'] as const,
  ),
  ['url', 'url'],
  // A search result's `source` is its URL or a name; a document's or image's `source` is an object.
  ['source', 'url'],
  ['source:base64.data', 'binary'],
  ['input_audio.data', 'binary'],
  ['file.file_data', 'binary'],
  ...IDENTIFIERS.map((k) => [k, 'identifier'] as const),
  ...[...OPAQUE_ENUMS, ...OPAQUE_NUMBERS].map((k) => [k, 'opaque'] as const),
  ['signature', 'sealed'],
  ['encrypted_content', 'sealed'],
  ['encrypted_index', 'sealed'],
  ['encrypted_stdout', 'sealed'],
  [':redacted_thinking.data', 'sealed'],
  ...NODES.map((k) => [k, 'node'] as const),
  ['input', 'json'],
  ['parameters', 'json'],
  ['schema', 'json'],
  ['input_schema', 'json'],
  ['input_examples[]', 'json'],
  ['metadata', 'json'],
  ['logit_bias', 'json'],
  ['allowed_tools.tools[]', 'json'],
  ['arguments', 'json-text'],
  ['configs', 'settings'],
]);

/** The forms under which a segment may appear in a table key. */
function forms(segment: PathSegment): string[] {
  const base = segment.element ? `${segment.key}[]` : segment.key;
  return segment.type === undefined ? [base] : [`${base}:${segment.type}`, base, `:${segment.type}`];
}

/**
 * The class of `leaf` (a field's segment) under `parents` (the enclosing segments, outermost first),
 * by the longest table suffix that matches; null when the table does not know it.
 */
export function classOf(parents: readonly PathSegment[], leaf: PathSegment): FieldClass | null {
  const p1 = parents[parents.length - 1];
  const p2 = parents[parents.length - 2];
  // Requests repeat the same few hundred paths: the suffix search runs once per distinct context.
  // Unambiguous: in the schema, parents are table keys (no NUL) and discriminators are [a-z0-9_].
  const memo = `${p2 ? fullForm(p2) : ''}\u0000${p1 ? fullForm(p1) : ''}\u0000${leaf.element ? `${leaf.key}[]` : leaf.key}`;
  let cls = CLASS_MEMO.get(memo);
  if (cls === undefined) {
    cls = searchClass(parents, leaf) ?? null;
    if (CLASS_MEMO.size < MEMO_LIMIT) CLASS_MEMO.set(memo, cls);
  }
  return cls;
}

/** Bounded: keys of unknown fields are caller-chosen, so distinct contexts are not. */
const MEMO_LIMIT = 10_000;
const CLASS_MEMO = new Map<string, FieldClass | null>();

function fullForm(segment: PathSegment): string {
  return `${segment.key}${segment.element ? '[]' : ''}${segment.type === undefined ? '' : `:${segment.type}`}`;
}

function searchClass(parents: readonly PathSegment[], leaf: PathSegment): FieldClass | undefined {
  // The leaf's own `type` is irrelevant to its class; only its key and whether it is an element.
  const leafForms = forms({ key: leaf.key, element: leaf.element });
  const p1 = parents.length > 0 ? forms(parents[parents.length - 1]!) : [];
  const p2 = parents.length > 1 ? forms(parents[parents.length - 2]!) : [];
  for (const l of leafForms) {
    for (const a of p1)
      for (const b of p2) {
        const hit = REQUEST_CHANNELS.get(`${b}.${a}.${l}`);
        if (hit) return hit;
      }
  }
  for (const l of leafForms) {
    for (const a of p1) {
      const hit = REQUEST_CHANNELS.get(`${a}.${l}`);
      if (hit) return hit;
    }
  }
  for (const l of leafForms) {
    const hit = REQUEST_CHANNELS.get(l);
    if (hit) return hit;
  }
  return undefined;
}

/** Discriminators that can name a path step; anything else (long, odd characters) is not trusted. */
const DISCRIMINATOR = /^[a-z][a-z0-9_]{0,63}$/;

export function discriminatorOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const type = (value as Record<string, unknown>)['type'];
  return typeof type === 'string' && DISCRIMINATOR.test(type) ? type : undefined;
}

/**
 * How the walker treats a field: its class in the current mode. Inside `json`, `settings` and
 * `unknown` subtrees the table is no longer consulted, so a known name (`name`, `id`) deep inside
 * unknown content is not mistaken for an identifier and forwarded raw.
 */
export function fieldMode(
  mode: WalkMode,
  parents: readonly PathSegment[],
  leaf: PathSegment,
): { readonly mode: WalkMode; readonly cls: FieldClass | 'unknown' } {
  if (mode !== 'schema')
    return { mode, cls: mode === 'unknown' ? 'unknown' : mode === 'json' ? 'json' : 'settings' };
  const cls = classOf(parents, leaf);
  if (cls === null) return { mode: 'unknown', cls: 'unknown' };
  if (cls === 'json' || cls === 'json-text') return { mode: 'json', cls };
  if (cls === 'settings') return { mode: 'settings', cls };
  return { mode: 'schema', cls };
}

/**
 * Parses a path of the derived list (scripts/derive-request-paths.mjs) and classifies its last step as
 * the walker would, following the same mode changes: `text`, `json`, … or `unknown`. A trailing `.*`
 * (free-form object) is classified as its parent's subtree.
 */
export function classifyPath(path: string): FieldClass | 'unknown' {
  const steps = path.split('.').map((raw): PathSegment => {
    const [head, type] = raw.split(':') as [string, string | undefined];
    const element = head.endsWith('[]');
    return { key: element ? head.slice(0, -2) : head, element, ...(type ? { type } : {}) };
  });
  let mode: WalkMode = 'schema';
  let cls: FieldClass | 'unknown' = 'node';
  const parents: PathSegment[] = [];
  for (const step of steps) {
    if (step.key === '*') {
      // A free-form object: fine only where the table made everything below a subtree.
      return mode === 'json' || mode === 'settings' ? cls : 'unknown';
    }
    const next = fieldMode(mode, parents, step);
    mode = next.mode;
    cls = next.cls;
    parents.push(step);
  }
  return cls;
}
