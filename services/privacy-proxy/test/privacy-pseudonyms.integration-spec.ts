import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PRIVACY_CONTEXT_HEADER } from '@orgmesh/contracts';
import { FileProfileSource } from '../src/profiles/profile-source.js';
import { placeholdersIn } from './fake-upstream.js';
import { startHarness, type Harness } from './proxy-harness.js';

// Issue 19: names outside the directory never reach the provider, and placeholders are scoped by
// workflow (the x-orgmesh-context-id header) so the provider cannot link a person across workflows.
// Real HTTP on loopback: the proxy in front of the recording fake upstream.

const NAME_TEXT = 'Please call Marisol Okonkwo tomorrow about invoice 7731.';
const VALUES_TEXT = 'Refund for Chukwuemeka Adeyemi, email marta.klein@example.com, SSN 512-44-7391.';
const VALUES = ['Chukwuemeka Adeyemi', 'marta.klein@example.com', '512-44-7391'];

let h: Harness;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness(
    {},
    {
      profiles: FileProfileSource.fromObject({
        profiles: {
          finance: { mode: 'mask' },
          manager: { mode: 'mask' },
          legal: { mode: 'mask', pseudonymScope: 'workflow' },
          auditor: { mode: 'mask', pseudonymScope: 'org' },
          support: { mode: 'mask', names: false },
        },
        directory: [
          { name: 'Jane Doe', email: 'jane.doe@acme.example', userId: 'u-1001' },
          { name: 'José Álvarez', email: 'jose.alvarez@acme.example', userId: 'u-1002' },
        ],
      }),
    },
  );
  for (const role of ['finance', 'manager', 'legal', 'auditor', 'support'])
    tokens[role] = await h.token(role);
});

afterAll(async () => {
  await h.close();
});

/** One OpenAI call; returns what the fake received and what the client got back. */
async function call(
  role: string,
  text: string,
  headers: Record<string, string> = {},
  earlier: Array<{ role: string; content: string }> = [],
) {
  const response = await fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[role]}`, ...headers },
    body: JSON.stringify({ model: 'gpt-test', messages: [...earlier, { role: 'user', content: text }] }),
  });
  expect(response.status).toBe(200);
  const answer = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  const upstream = h.upstream.last.body;
  return { upstream, placeholders: placeholdersIn(upstream), answer: answer.choices[0]!.message.content };
}

const workflow = (id: string) => ({ [PRIVACY_CONTEXT_HEADER]: id });

describe('names outside the directory', () => {
  it('"Please call Marisol Okonkwo tomorrow" never reaches the provider, and the caller gets the name back', async () => {
    const { upstream, placeholders, answer } = await call('finance', NAME_TEXT, workflow('wf-names'));
    expect(upstream).not.toContain('Marisol');
    expect(upstream).not.toContain('Okonkwo');
    expect(placeholders.some((p) => p.startsWith('[[PERSON_'))).toBe(true);
    expect(answer).toContain('Marisol Okonkwo');
  });

  it('a profile with names: false lets the free-text name through (the switch is real)', async () => {
    const { upstream } = await call('support', NAME_TEXT, workflow('wf-names'));
    expect(upstream).toContain('Marisol Okonkwo');
  });

  it('directory names never pass with other case, accents, NBSP or a hyphen inside, names switch or not', async () => {
    const text = 'Escalate to jose alvarez, JOSÉ\u00a0ÁLVAREZ, Jane-Doe and jane\u00a0doe today.';
    for (const role of ['finance', 'support']) {
      const { upstream, answer } = await call(role, text, workflow('wf-directory'));
      for (const part of ['jose', 'JOSÉ', 'ÁLVAREZ', 'alvarez', 'Jane', 'jane'])
        expect(upstream).not.toContain(part);
      expect(answer).toContain('jose alvarez');
      expect(answer).toContain('Jane-Doe');
    }
  });
});

describe('pseudonym scope', () => {
  it('one workflow: the same placeholders across calls and across the Finance → Manager → Legal hand-off', async () => {
    const first = await call('finance', VALUES_TEXT, workflow('wf-A'));
    const second = await call('finance', VALUES_TEXT, workflow('wf-A'));
    const manager = await call('manager', VALUES_TEXT, workflow('wf-A'));
    const legal = await call('legal', VALUES_TEXT, workflow('wf-A'));
    for (const value of VALUES) expect(first.upstream).not.toContain(value);
    expect(first.placeholders).toHaveLength(3);
    expect(second.placeholders).toEqual(first.placeholders);
    expect(manager.placeholders).toEqual(first.placeholders);
    expect(legal.placeholders).toEqual(first.placeholders);
    for (const value of VALUES) expect(legal.answer).toContain(value);
    // The workflow id scopes the placeholders; it is no business of the provider's.
    expect(h.upstream.last.headers[PRIVACY_CONTEXT_HEADER]).toBeUndefined();
  });

  it('another workflow, a session, or another conversation: unrelated placeholders for the same values', async () => {
    const a = await call('finance', VALUES_TEXT, workflow('wf-A'));
    const b = await call('finance', VALUES_TEXT, workflow('wf-B'));
    const session = await call('finance', VALUES_TEXT, { 'x-orgmesh-session-id': 'sess-9' });
    const sessionAgain = await call('finance', VALUES_TEXT, { 'x-orgmesh-session-id': 'sess-9' });
    // Without either header: scoped by the conversation (the caller and its opening messages).
    const opening = [{ role: 'system', content: 'You reconcile refunds.' }];
    const other = [{ role: 'system', content: 'You review contracts.' }];
    const none1 = await call('finance', VALUES_TEXT, {}, opening);
    const none2 = await call('finance', VALUES_TEXT, {}, other);
    expect(sessionAgain.placeholders).toEqual(session.placeholders);
    for (const p of a.placeholders) {
      expect(b.placeholders).not.toContain(p);
      expect(none1.placeholders).not.toContain(p);
      expect(session.placeholders).not.toContain(p);
    }
    for (const p of none1.placeholders) {
      expect(none2.placeholders).not.toContain(p);
      expect(session.placeholders).not.toContain(p);
    }
  });

  it('no header: the turns of one conversation keep their placeholders (what a re-sent thinking block needs)', async () => {
    const opening = [
      { role: 'system', content: 'You reconcile refunds.' },
      { role: 'user', content: VALUES_TEXT },
    ];
    const first = await call('finance', 'Summarise the case.', {}, []);
    const turn1 = await call('finance', 'Draft the reply.', {}, [
      ...opening,
      { role: 'assistant', content: 'On it.' },
    ]);
    const turn2 = await call('finance', 'Shorter, please.', {}, [
      ...opening,
      { role: 'assistant', content: 'On it.' },
      { role: 'user', content: 'Draft the reply.' },
      { role: 'assistant', content: `Dear ${VALUES[0]}, …` },
    ]);
    expect(first.placeholders).toHaveLength(0);
    expect(turn1.placeholders).toHaveLength(3);
    expect(turn2.placeholders).toEqual(turn1.placeholders);
    // Another caller with the same opening is another conversation.
    const manager = await call('manager', 'Draft the reply.', {}, [
      ...opening,
      { role: 'assistant', content: 'On it.' },
    ]);
    for (const p of turn1.placeholders) expect(manager.placeholders).not.toContain(p);
  });

  it('org scope: the same placeholders in every workflow', async () => {
    const a = await call('auditor', VALUES_TEXT, workflow('wf-A'));
    const b = await call('auditor', VALUES_TEXT, workflow('wf-B'));
    const none = await call('auditor', VALUES_TEXT);
    expect(a.placeholders).toHaveLength(3);
    expect(b.placeholders).toEqual(a.placeholders);
    expect(none.placeholders).toEqual(a.placeholders);
  });

  it('restoring returns nothing from another workflow: its placeholders come back as they are', async () => {
    const a = await call('finance', VALUES_TEXT, workflow('wf-A'));
    // A provider that replays workflow A's placeholders into an answer of workflow B.
    h.upstream.script({ answer: () => ({ text: `Earlier: ${a.placeholders.join(' ')}` }) });
    try {
      const b = await call('finance', 'Any update on the refund?', workflow('wf-B'));
      for (const value of VALUES) expect(b.answer).not.toContain(value);
      for (const p of a.placeholders) expect(b.answer).toContain(p);
    } finally {
      h.upstream.script({});
    }
  });
});
