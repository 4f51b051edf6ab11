import { AppError, unsafeTextReason } from '@orgmesh/contracts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * How deep a request or event body may nest. The contracts bound every free-form field to 64
 * levels; this cap, well above any contract's envelope plus that, is the transport's own guarantee
 * that no schema walk or JSON.stringify of a bus message can overflow the stack, whatever a
 * contract forgets.
 */
export const MAX_BODY_DEPTH = 128;

/** The wire body: exactly the contract's JSON payload, UTF-8. */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses a wire body; an empty body is `undefined` (the schema then names the root as invalid). */
export function decodeJson(data: Uint8Array, what: string): unknown {
  if (data.length === 0) return undefined;
  try {
    return JSON.parse(decoder.decode(data));
  } catch (error) {
    throw new AppError('validation_failed', `invalid ${what}: body is not valid UTF-8 JSON`, {
      cause: error,
      details: { issues: [{ path: '(root)', message: 'body is not valid UTF-8 JSON' }] },
    });
  }
}

/** Whether a parsed body nests deeper than `maxDepth`, found without recursion. */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (item.depth > maxDepth) return true;
    if (item.value === null || typeof item.value !== 'object') continue;
    const children = Array.isArray(item.value) ? item.value : Object.values(item.value);
    for (const child of children)
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: item.depth + 1 });
  }
  return false;
}

/** `decodeJson`, then `validation_failed` for a body nested deeper than MAX_BODY_DEPTH. */
export function decodeBoundedJson(data: Uint8Array, what: string): unknown {
  const value = decodeJson(data, what);
  if (nestsDeeperThan(value, MAX_BODY_DEPTH)) {
    throw new AppError('validation_failed', `invalid ${what}: nested deeper than ${MAX_BODY_DEPTH} levels`, {
      details: { issues: [{ path: '(root)', message: `nested deeper than ${MAX_BODY_DEPTH} levels` }] },
    });
  }
  return value;
}

/** Longest id a header may carry (`Nats-Msg-Id`, `idempotency-key`): far beyond a UUID or a composed key. */
export const MAX_HEADER_ID_LENGTH = 500;

/**
 * Why an id from a header cannot be stored or used as a key, or undefined. Empty is refused too:
 * every empty id would share one processOnce or idempotency record, and the second would be skipped.
 */
export function headerIdProblem(id: string): string | undefined {
  if (id === '') return 'must not be empty';
  if (id.length > MAX_HEADER_ID_LENGTH) return `longer than ${MAX_HEADER_ID_LENGTH} characters`;
  return unsafeTextReason(id);
}
