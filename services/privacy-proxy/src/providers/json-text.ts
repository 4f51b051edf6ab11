import type { Restorer } from '@orgmesh/privacy';

type Container = Record<string, unknown> | unknown[];

/** Fields whose content is the caller's own data inside a response (`tool_use.input`): every key restored. */
const FREE_FORM_KEYS = new Set(['input']);

function set(holder: Container, key: string | number, value: unknown): void {
  (holder as Record<string | number, unknown>)[key] = value;
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
      if (freeForm || !RESPONSE_SKIP_KEYS.has(key))
        restoreEntry(obj, key, obj[key], text, json, freeForm || FREE_FORM_KEYS.has(key));
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
