import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { STREAM_TICKET_REFUSALS, StreamTickets, parseTicketKey } from './stream-ticket.js';

function refusal(redeem: () => unknown): { code: string; reason: unknown } {
  try {
    redeem();
  } catch (error) {
    if (error instanceof AppError) return { code: error.code, reason: error.details?.['reason'] };
    throw error;
  }
  throw new Error('expected the ticket to be refused');
}

describe('StreamTickets', () => {
  const key = randomBytes(32).toString('base64');

  it('seals the authorization: the ticket does not show it, redeeming gives it back once', () => {
    let now = 1_000_000;
    const tickets = new StreamTickets({ key, ttlMs: 30_000, now: () => now });
    const issued = tickets.issue('Bearer header.payload.signature');
    expect(issued.ticket).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(issued.ticket).not.toContain('payload');
    expect(Buffer.from(issued.ticket.slice(3), 'base64url').toString('latin1')).not.toContain('Bearer');
    expect(issued.expiresAt).toBe(new Date(1_030_000).toISOString());
    now += 29_999;
    expect(tickets.redeem(issued.ticket)).toBe('Bearer header.payload.signature');
    expect(refusal(() => tickets.redeem(issued.ticket))).toEqual({
      code: 'unauthenticated',
      reason: STREAM_TICKET_REFUSALS.used,
    });
  });

  it('refuses an expired ticket, and forgets used nonces only once their tickets expired', () => {
    let now = 0;
    const tickets = new StreamTickets({ key, ttlMs: 1_000, now: () => now });
    const late = tickets.issue('Bearer a');
    const used = tickets.issue('Bearer b');
    tickets.redeem(used.ticket);
    now = 1_000;
    expect(refusal(() => tickets.redeem(late.ticket)).reason).toBe(STREAM_TICKET_REFUSALS.expired);
    // Past its expiry a used ticket is refused as expired (its nonce may be forgotten by then).
    expect(refusal(() => tickets.redeem(used.ticket)).reason).toBe(STREAM_TICKET_REFUSALS.expired);
  });

  it('refuses tampered, truncated, foreign and other-key tickets alike', () => {
    const tickets = new StreamTickets({ key, ttlMs: 30_000 });
    const { ticket } = tickets.issue('Bearer a');
    const body = Buffer.from(ticket.slice(3), 'base64url');
    body[20] = (body[20] ?? 0) ^ 1;
    const forged = `v1.${body.toString('base64url')}`;
    const otherKey = new StreamTickets({ key: undefined, ttlMs: 30_000 }).issue('Bearer a').ticket;
    for (const bad of [
      forged,
      ticket.slice(0, 40),
      `v2.${ticket.slice(3)}`,
      `${ticket}.x`,
      '',
      'v1.',
      otherKey,
    ]) {
      expect(refusal(() => tickets.redeem(bad))).toEqual({
        code: 'unauthenticated',
        reason: STREAM_TICKET_REFUSALS.invalid,
      });
    }
    // The genuine one still works: a refused attempt does not consume anything.
    expect(tickets.redeem(ticket)).toBe('Bearer a');
  });

  it('shares tickets between replicas with the same key', () => {
    const a = new StreamTickets({ key, ttlMs: 30_000 });
    const b = new StreamTickets({ key: Buffer.from(key, 'base64').toString('hex'), ttlMs: 30_000 });
    expect(b.redeem(a.issue('Bearer shared').ticket)).toBe('Bearer shared');
  });

  it('takes a 32-byte key as hex or base64 and names the variable, never the value, otherwise', () => {
    expect(parseTicketKey('ab'.repeat(32))).toHaveLength(32);
    expect(parseTicketKey(randomBytes(32).toString('base64url'))).toHaveLength(32);
    expect(() => parseTicketKey('too-short-secret')).toThrow(/^GATEWAY_STREAM_TICKET_KEY must be 32 bytes/);
    expect(() => parseTicketKey('too-short-secret')).not.toThrow(/too-short-secret/);
  });
});
