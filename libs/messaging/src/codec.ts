import { AppError } from '@orgmesh/contracts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

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
