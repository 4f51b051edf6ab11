import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { SessionRepository } from './session.repository.js';
import { SessionService } from './session.service.js';
import { decodeSessionCursor, encodeSessionCursor } from './session.cursor.js';

const now = new Date('2026-06-01T12:00:00.000Z');
const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A repository that records list calls; any other use is a test error. */
function listingRepository(): { repository: SessionRepository; calls: unknown[] } {
  const calls: unknown[] = [];
  const repository = {
    list: async (filter: unknown) => {
      calls.push(filter);
      return [];
    },
  } as unknown as SessionRepository;
  return { repository, calls };
}

describe('list-sessions cursor', () => {
  it('round-trips a session position', () => {
    const session = { createdAt: '2026-05-31T08:00:00.000Z', id: randomUUID() };
    expect(decodeSessionCursor(encodeSessionCursor(session), now)).toEqual(session);
  });

  it.each([
    ['the forged cursor of issue 17', forged({ c: '2026-01-01T00:00:00Z', i: 'x' })],
    ['a position after the service clock', forged({ c: '2026-06-02T00:00:00.000Z', i: randomUUID() })],
    ['garbage', 'garbage'],
  ])('refuses %s before the repository is queried', async (_name, cursor) => {
    const { repository, calls } = listingRepository();
    const service = new SessionService(repository, { now: () => now });
    await expect(service.list({ limit: 10, cursor })).rejects.toMatchObject({ code: 'invalid_cursor' });
    expect(calls).toEqual([]);
  });

  it('hands the repository the typed position', async () => {
    const { repository, calls } = listingRepository();
    const service = new SessionService(repository, { now: () => now });
    const id = randomUUID();
    await service.list({
      limit: 10,
      cursor: encodeSessionCursor({ createdAt: '2026-05-01T00:00:00.000Z', id }),
    });
    expect(calls).toEqual([
      expect.objectContaining({ cursor: { createdAt: '2026-05-01T00:00:00.000Z', id } }),
    ]);
  });
});
