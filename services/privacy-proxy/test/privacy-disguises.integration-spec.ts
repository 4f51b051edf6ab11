import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { normalizeForDetection } from '@orgmesh/privacy';
import { startHarness, type Harness } from './proxy-harness.js';

/**
 * Issue 19, disguised and split values: through the official OpenAI SDK and the proxy to the
 * recording fake, for a masking role (finance: no piece of the value may arrive) and a strict role
 * (legal: refused with 422, nothing forwarded); and the processing budget (413, nothing forwarded).
 */

interface Disguise {
  readonly name: string;
  /** The message parts the client sends. */
  readonly parts: readonly string[];
  /** What must not reach the provider: the value's digits, or its local part. */
  readonly secret: string;
}

const DISGUISES: readonly Disguise[] = [
  {
    name: 'zero-width space in an address',
    parts: ['Mail marta.kl\u200bein@example.com now.'],
    secret: 'marta.klein',
  },
  {
    name: 'zero-width joiner in an address',
    parts: ['Mail mar\u200dta.klein@example.com now.'],
    secret: 'marta.klein',
  },
  { name: 'NBSP inside an SSN', parts: ['SSN 512\u00a044\u00a07391 on file.'], secret: '512447391' },
  {
    name: 'soft hyphen inside an IBAN',
    parts: ['IBAN DE89 3704 00\u00ad44 0532 0130 00 please.'],
    secret: '370400440532013000',
  },
  { name: 'full-width digits', parts: ['SSN: ５１２-４４-７３９１.'], secret: '512447391' },
  { name: 'full-width at sign', parts: ['Mail marta.klein＠example.com now.'], secret: 'marta.klein' },
  {
    name: 'Cyrillic look-alikes in an address',
    parts: ['Mail mаrtа.klеin@example.com now.'],
    secret: 'marta.klein',
  },
  { name: 'SSN with dots', parts: ['SSN: 512.44.7391 confirmed.'], secret: '512447391' },
  {
    name: 'dashes in an IBAN',
    parts: ['IBAN DE89-3704-0044-0532-0130-00 please.'],
    secret: '370400440532013000',
  },
  { name: 'lowercase IBAN', parts: ['pay de89 3704 0044 0532 0130 00 today.'], secret: '370400440532013000' },
  {
    name: 'percent-encoded at sign',
    parts: ['see ?to=marta.klein%40example.com&x=1'],
    secret: 'marta.klein',
  },
  { name: 'entity-encoded at sign', parts: ['<p>marta.klein&#64;example.com</p>'], secret: 'marta.klein' },
  { name: 'bare nine-digit SSN', parts: ['Please update 512447391 in payroll.'], secret: '512447391' },
  { name: 'SSN split across two parts', parts: ['My SSN is 512-44-', '7391 as you asked.'], secret: '7391' },
  {
    name: 'address split across two parts',
    parts: ['Mail marta.kl', 'ein@example.com today.'],
    secret: 'marta',
  },
];

let h: Harness;
let small: Harness;

beforeAll(async () => {
  h = await startHarness();
  small = await startHarness({}, { processingBudget: { maxChars: 2000, maxValues: 20 } });
});

afterAll(async () => {
  await h.close();
  await small.close();
});

function client(harness: Harness, token: string): OpenAI {
  return new OpenAI({ apiKey: token, baseURL: `${harness.url}/v1`, maxRetries: 0 });
}

/** Every string the provider received (JSON escapes decoded), normalised the way the detector reads. */
function readable(harness: Harness, from: number): string {
  const out: string[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === 'string') out.push(value);
    else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  for (const request of harness.upstream.requests.slice(from)) {
    out.push(request.body);
    visit(request.json);
  }
  return normalizeForDetection(out.join('\n')).text;
}
const digitsOf = (text: string) => text.replace(/\[\[[A-Z]+_[0-9a-f]{8,16}\]\]/g, ' ').replace(/\D/g, '');

describe('disguised and split values through the proxy', () => {
  for (const disguise of DISGUISES) {
    it(`${disguise.name}: masked for a masking role, refused for a strict one`, async () => {
      const before = h.upstream.requests.length;
      const content = disguise.parts.map((text) => ({ type: 'text' as const, text }));
      await client(h, await h.token('finance')).chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content }],
      });
      expect(h.upstream.requests.length).toBe(before + 1);
      const seen = readable(h, before);
      if (/^\d+$/.test(disguise.secret)) expect(digitsOf(seen)).not.toContain(disguise.secret);
      else expect(seen.toLowerCase()).not.toContain(disguise.secret);

      await expect(
        client(h, await h.token('legal')).chat.completions.create({
          model: 'gpt-test',
          messages: [{ role: 'user', content }],
        }),
      ).rejects.toMatchObject({ status: 422 });
      expect(h.upstream.requests.length).toBe(before + 1);
    });
  }

  it('masks an SSN split across two messages, and the answer restores the whole value', async () => {
    const before = h.upstream.requests.length;
    const answer = await client(h, await h.token('finance')).chat.completions.create({
      model: 'gpt-test',
      messages: [
        { role: 'user', content: 'My SSN is 512-44-' },
        { role: 'user', content: '7391, please keep it.' },
      ],
    });
    expect(digitsOf(readable(h, before))).not.toContain('7391');
    // The fake echoes the placeholders it received; the client reads the value back.
    expect(answer.choices[0]!.message.content).toContain('512-44-7391');
  });
});

describe('processing budget', () => {
  it('refuses a request with more text than the budget with 413, forwarding nothing', async () => {
    const before = small.upstream.requests.length;
    await expect(
      client(small, await small.token('finance')).chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'quarterly close '.repeat(200) }],
      }),
    ).rejects.toMatchObject({ status: 413 });
    expect(small.upstream.requests.length).toBe(before);
  });

  it('refuses a request with more values than the budget with 413, forwarding nothing', async () => {
    const before = small.upstream.requests.length;
    const values = Array.from({ length: 21 }, (_, i) => `u${i}@example.com`).join(' ');
    await expect(
      client(small, await small.token('finance')).chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: values }],
      }),
    ).rejects.toMatchObject({ status: 413 });
    expect(small.upstream.requests.length).toBe(before);
    // Within the budget the same proxy masks as usual.
    await client(small, await small.token('finance')).chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'mail u1@example.com' }],
    });
    expect(small.upstream.requests.length).toBe(before + 1);
  });
});
