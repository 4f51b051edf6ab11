import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { Detector } from './detector.js';
import { MaskingSession } from './masking-session.js';
import { PrivacyProfileSchema, type PseudonymScope } from './profile.js';
import { Pseudonymizer, pseudonymKeyScope, type PseudonymContext } from './pseudonymizer.js';

const KEY = 'k'.repeat(32);
const TEXT = 'Contact marta.klein@example.com, SSN 512-44-7391, and please call Marisol Okonkwo.';

/** Masks TEXT as the proxy does for one request: profile scope, the request's workflow and role. */
function mask(scope: PseudonymScope | undefined, context: PseudonymContext, tenant = 'acme') {
  const profile = PrivacyProfileSchema.parse({ mode: 'mask', ...(scope ? { pseudonymScope: scope } : {}) });
  const session = new MaskingSession(
    Detector.forProfile(profile),
    new Pseudonymizer(KEY),
    profile,
    pseudonymKeyScope(tenant, profile.pseudonymScope, context),
  );
  return { masked: session.process(TEXT), session };
}

const placeholders = (s: string) => s.match(/\[\[[A-Z]+_[0-9a-f]+\]\]/g) ?? [];

describe('placeholders', () => {
  it('are the HMAC-SHA-256 of scope, type and normalised value, as every earlier version made them', () => {
    // Replicas of two versions serve one conversation during a rollout: their placeholders must agree.
    const digest = createHmac('sha256', KEY)
      .update('acme\u0000email\u0000marta.klein@example.com')
      .digest('hex');
    const masked = mask('org', {}).masked;
    expect(masked).toContain(`[[EMAIL_${digest.slice(0, 8)}]]`);
  });
});

describe('pseudonym scopes', () => {
  it('workflow (default): one placeholder per value through a hand-off across roles and calls', () => {
    const finance = mask(undefined, { contextId: 'ctx-1', role: 'finance' });
    const again = mask(undefined, { contextId: 'ctx-1', role: 'finance' });
    const manager = mask(undefined, { contextId: 'ctx-1', role: 'manager' });
    const legal = mask('workflow', { contextId: 'ctx-1', role: 'legal' });
    expect(placeholders(finance.masked)).toHaveLength(3);
    expect(again.masked).toBe(finance.masked);
    expect(manager.masked).toBe(finance.masked);
    expect(legal.masked).toBe(finance.masked);
  });

  it('workflow: another workflow gets unrelated placeholders for the same values', () => {
    const one = placeholders(mask(undefined, { contextId: 'ctx-1', role: 'finance' }).masked);
    const two = placeholders(mask(undefined, { contextId: 'ctx-2', role: 'finance' }).masked);
    expect(one).toHaveLength(3);
    expect(two).toHaveLength(3);
    for (const p of one) expect(two).not.toContain(p);
  });

  it('workflow without a context id or session: scoped by the conversation, else by the request', () => {
    const conversation = placeholders(mask(undefined, { conversation: 'c0ffee' }).masked);
    expect(placeholders(mask(undefined, { conversation: 'c0ffee' }).masked)).toEqual(conversation);
    const another = placeholders(mask(undefined, { conversation: 'beef' }).masked);
    const session = placeholders(mask(undefined, { sessionId: 's-1', conversation: 'c0ffee' }).masked);
    for (const p of conversation) {
      expect(another).not.toContain(p);
      // A session named by the caller wins over the conversation.
      expect(session).not.toContain(p);
    }
  });

  it('workflow without a context id: scoped by the session, else by the request — never the org', () => {
    const org = placeholders(mask('org', {}).masked);
    const session = placeholders(mask(undefined, { sessionId: 's-1' }).masked);
    expect(placeholders(mask(undefined, { sessionId: 's-1' }).masked)).toEqual(session);
    const request1 = placeholders(mask(undefined, {}).masked);
    const request2 = placeholders(mask(undefined, {}).masked);
    for (const p of request1) {
      expect(request2).not.toContain(p);
      expect(org).not.toContain(p);
      expect(session).not.toContain(p);
    }
  });

  it('role: the same across the workflows of a role, different for another role', () => {
    const a = mask('role', { contextId: 'ctx-1', role: 'finance' }).masked;
    const b = mask('role', { contextId: 'ctx-2', role: 'finance' }).masked;
    const c = mask('role', { contextId: 'ctx-1', role: 'legal' }).masked;
    expect(b).toBe(a);
    for (const p of placeholders(c)) expect(placeholders(a)).not.toContain(p);
  });

  it('org: the same everywhere in a tenant, different in another tenant', () => {
    const a = mask('org', { contextId: 'ctx-1', role: 'finance' }).masked;
    const b = mask('org', { contextId: 'ctx-2', role: 'legal' }).masked;
    const c = mask('org', { sessionId: 's-9' }).masked;
    const other = mask('org', { contextId: 'ctx-1', role: 'finance' }, 'globex').masked;
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(other).not.toBe(a);
  });

  it("restoring returns only the values of the caller's own request: another workflow's placeholders stay as they are", () => {
    const mine = mask(undefined, { contextId: 'ctx-1', role: 'finance' });
    const theirs = mask(undefined, { contextId: 'ctx-2', role: 'finance' });
    const answer = `Noted: ${placeholders(theirs.masked).join(' ')} / ${placeholders(mine.masked).join(' ')}`;
    const restored = mine.session.restorer().restore(answer);
    expect(restored).toContain('marta.klein@example.com');
    expect(restored).toContain('Marisol Okonkwo');
    // The other workflow's placeholders are not this request's keys: nothing foreign comes back.
    for (const p of placeholders(theirs.masked)) expect(restored).toContain(p);
    expect(restored.split('marta.klein@example.com')).toHaveLength(2);
    expect(restored.split('Marisol Okonkwo')).toHaveLength(2);
  });
});
