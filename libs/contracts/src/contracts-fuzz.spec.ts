import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
// A test-only dependency: the shared fuzz budget, report and hostile values (the library itself imports none).
import { deepJson, fuzzEdge, hostileString } from '@orgmesh/testing';
import { CURSOR_CLOCK_SKEW_MS, keysetCursor } from './cursor.js';
import { allContracts, type RpcDefinition } from './define.js';
import { AppError } from './errors.js';
import './index.js';
import { checkJsonBounds, unsafeTextReason } from './safe-input.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const now = new Date('2026-06-01T12:00:00.000Z');
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** Cursor candidates: raw strings, base64 of hostile text, and base64 of near-miss positions. */
const cursorText: fc.Arbitrary<string> = fc.oneof(
  hostileString,
  hostileString.map(b64),
  fc
    .record({
      c: fc.oneof(
        hostileString,
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.integer().map((n) => new Date(now.getTime() + n).toISOString()),
        fc.constantFrom('2026-02-30T00:00:00.000Z', '2026-01-01T00:00:00Z', '0000-01-01T00:00:00.000Z'),
      ),
      i: fc.oneof(fc.uuid(), hostileString, fc.constantFrom('x', '00000000-0000-0000-0000-000000000000')),
    })
    .map((v) => b64(JSON.stringify(v))),
  fc.jsonValue().map((v) => b64(JSON.stringify(v) ?? 'null')),
);

/** Every string in a value, keys included, iteratively. */
function strings(value: unknown): string[] {
  const out: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) stack.push(...v);
    else if (v && typeof v === 'object')
      for (const [k, child] of Object.entries(v)) {
        out.push(k);
        stack.push(child);
      }
  }
  return out;
}

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom(deepJson(3000), deepJson(65, 'array'), deepJson(2000)),
  fc.dictionary(hostileString, fc.oneof(hostileString, fc.integer())),
  fc.array(hostileString, { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 4 }),
  fc.uuid(),
  fc.constantFrom('finance', 'manager', 'finance-agent', null, 1e308, -1, true),
);

describe('contracts under fuzz (issue 17)', () => {
  it('a keyset cursor decodes to a sane typed position or is invalid_cursor, nothing else', async () => {
    await fuzzEdge(
      'contracts keyset cursor',
      cursorText,
      async (cursor) => {
        let position;
        try {
          position = keysetCursor.decode(cursor, now);
        } catch (error) {
          expect(error).toBeInstanceOf(AppError);
          expect((error as AppError).code).toBe('invalid_cursor');
          return;
        }
        expect(position.id).toMatch(UUID);
        expect(new Date(position.createdAt).toISOString()).toBe(position.createdAt);
        expect(Date.parse(position.createdAt)).toBeLessThanOrEqual(now.getTime() + CURSOR_CLOCK_SKEW_MS);
      },
      { ciRuns: 3000 },
    );
  });

  const rpcs = allContracts().filter(
    (c): c is RpcDefinition => c.kind === 'rpc' && ['mesh', 'sessions', 'registry'].includes(c.context),
  );

  it('what a request contract accepts holds no NUL, no lone surrogate and no JSON past 64 levels', async () => {
    const fieldsOf = (rpc: RpcDefinition): string[] => {
      const shape = (rpc.request as unknown as { shape?: Record<string, unknown> }).shape;
      return shape ? Object.keys(shape) : [];
    };
    const bySubject = new Map(rpcs.map((rpc) => [rpc.subject, rpc]));
    // The subject, not the definition, so a counterexample prints small.
    const payload = fc
      .constantFrom(...rpcs)
      .chain((rpc) =>
        fc.tuple(
          fc.constant(rpc.subject),
          fc.record(Object.fromEntries(fieldsOf(rpc).map((f) => [f, hostileValue])), { requiredKeys: [] }),
        ),
      );
    await fuzzEdge(
      'contracts mesh/sessions/registry requests',
      payload,
      async ([subject, value]) => {
        const result = bySubject.get(subject)!.request.safeParse(value);
        if (!result.success) return;
        // A cursor is opaque here on purpose: the service that issued it parses it (invalid_cursor).
        const { cursor: _cursor, ...stored } = result.data as Record<string, unknown>;
        for (const text of strings(stored)) expect(unsafeTextReason(text)).toBeUndefined();
        // One level for the request object, one for a record like metadata, 64 for the JSON itself.
        expect(checkJsonBounds(stored, { maxDepth: 66, maxNodes: 1_000_000 })).toBeUndefined();
      },
      { ciRuns: 3000 },
    );
  });
});
