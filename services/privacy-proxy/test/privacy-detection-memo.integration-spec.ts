import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SEEDED_VALUES, startHarness, type Harness } from './proxy-harness.js';

// A conversation's history comes again with every turn: the proxy detects each long text once and
// reads its findings from memory afterwards (libs/privacy DetectionMemo), and what reaches the
// provider is exactly what a proxy without the memo sends. Real HTTP on loopback, recording fake.

const FILLER =
  'The quarterly close is on track; the reconciliation of the intercompany balances is done and the accruals for the logistics contracts are booked. ';
const MESSAGES = [
  `${FILLER}Please escalate to Marisol Okonkwo (marta.klein@example.com) if the supplier does not answer. ${FILLER}`,
  `${FILLER}The payroll correction concerns SSN 512-44-7391 and the refund goes to IBAN DE89 3704 0044 0532 0130 00. ${FILLER}`,
  `${FILLER}Call Mr. Hendricks on +44 20 7946 0958 about the open invoice before Friday. ${FILLER}`,
  `${FILLER}Chukwuemeka Adeyemi asked for the statement; his card 4111 1111 1111 1111 must not be charged. ${FILLER}`,
];

let withMemo: Harness;
let withoutMemo: Harness;

beforeAll(async () => {
  withMemo = await startHarness();
  withoutMemo = await startHarness({}, { detectionMemoEntries: 0 });
});

afterAll(async () => {
  await withMemo.close();
  await withoutMemo.close();
});

async function memoCount(h: Harness, result: 'hit' | 'miss'): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('orgmesh_privacy_detection_memo_total{') && l.includes(`result="${result}"`));
  return Number(line?.split(' ').pop() ?? Number.NaN);
}

/** One turn of the conversation through `h`: what the provider received. */
async function turn(h: Harness, messages: Array<{ role: string; content: string }>): Promise<string> {
  const response = await fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await h.token('finance')}` },
    body: JSON.stringify({ model: 'gpt-test', messages }),
  });
  expect(response.status).toBe(200);
  await response.json();
  return h.upstream.last.body;
}

describe('the detection memo', () => {
  it('detects each long text of a conversation once, and sends the provider what a proxy without it sends', async () => {
    const hitsBefore = await memoCount(withMemo, 'hit');
    const missesBefore = await memoCount(withMemo, 'miss');
    const conversation: Array<{ role: string; content: string }> = [
      { role: 'system', content: 'You help the finance team.' },
    ];
    for (const [i, message] of MESSAGES.entries()) {
      conversation.push({ role: 'user', content: message });
      const remembered = await turn(withMemo, conversation);
      const detected = await turn(withoutMemo, conversation);
      expect(remembered).toEqual(detected);
      for (const value of [...SEEDED_VALUES, '512-44-7391', 'Marisol Okonkwo', 'Chukwuemeka Adeyemi'])
        expect(remembered).not.toContain(value);
      conversation.push({ role: 'assistant', content: `Noted, point ${i + 1} is handled.` });
    }
    // Four long messages, each detected on the turn it came; turn n read the n-1 before it from memory.
    expect((await memoCount(withMemo, 'miss')) - missesBefore).toBe(4);
    expect((await memoCount(withMemo, 'hit')) - hitsBefore).toBe(0 + 1 + 2 + 3);
    expect(await memoCount(withoutMemo, 'hit')).toBe(0);
  });
});
