import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { collectRequest, MAX_REQUEST_DEPTH, type ChannelPolicy } from './request-walker.js';

const SCAN: ChannelPolicy = { binary: 'allow', unknownFields: 'scan' };
const STRICT: ChannelPolicy = { binary: 'refuse', unknownFields: 'scan' };

/** Masks every occurrence of the given values, as a masking session would (the walker's other half). */
function maskValues(texts: readonly string[], values: Record<string, string>): string[] {
  return texts.map((t) => Object.entries(values).reduce((acc, [v, p]) => acc.split(v).join(p), t));
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

describe('collectRequest', () => {
  it('collects what the provider reads and leaves identifiers and provider tokens alone', () => {
    const doc = {
      model: 'gpt-x',
      user: 'u@example.com',
      messages: [
        { role: 'user', name: 'alice', content: [{ type: 'text', text: 'hello' }] },
        {
          role: 'assistant',
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":"b","n":1}' } }],
        },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 'sig==' }] },
      ],
    };
    const texts = collectRequest(doc, '', SCAN).texts;
    for (const expected of ['u@example.com', 'alice', 'hello', 'a', 'b', '1', 'hmm'])
      expect(texts).toContain(expected);
    for (const raw of ['gpt-x', 'c1', 'f', 'sig==']) expect(texts).not.toContain(raw);
  });

  it('forwards identifiers raw only while they look like identifiers', () => {
    const doc = {
      model: 'claude-sonnet-4-5',
      tools: [
        { name: 'send_email', description: 'd' },
        { name: 'mail ann@x.org now', description: 'd' },
      ],
      messages: [{ role: 'tool', tool_call_id: 'call_1', content: 'ok' }],
    };
    const texts = collectRequest(doc, '', SCAN).texts;
    expect(texts).toContain('mail ann@x.org now');
    for (const raw of ['claude-sonnet-4-5', 'send_email', 'call_1']) expect(texts).not.toContain(raw);
  });

  it('scans Anthropic text documents, also inside tool results, and their titles and context', () => {
    const doc = {
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'document',
              title: 'T1',
              context: 'C1',
              source: { type: 'text', media_type: 'text/plain', data: 'D1' },
            },
            {
              type: 'tool_result',
              tool_use_id: 'toolu_1',
              content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'D2' } }],
            },
            { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'D3' }] } },
          ],
        },
      ],
    };
    const texts = collectRequest(doc, '', SCAN).texts;
    for (const expected of ['T1', 'C1', 'D1', 'D2', 'D3']) expect(texts).toContain(expected);
  });

  it('masks path and query values of URLs, and of the request query string', () => {
    const doc = {
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'image_url',
              image_url: { url: 'https://img.example.com/u/ann%40x.org/a.png?email=ann@x.org&k=1' },
            },
          ],
        },
      ],
    };
    const collected = collectRequest(doc, '?note=ann@x.org', SCAN);
    const applied = collected.apply(maskValues(collected.texts, { 'ann@x.org': '[[EMAIL_1]]' }));
    expect(applied.bodyChanged).toBe(true);
    const url = doc.messages[0]!.content[0]!.image_url.url;
    expect(url).not.toContain('ann');
    expect(decodeURIComponent(url)).toBe('https://img.example.com/u/[[EMAIL_1]]/a.png?email=[[EMAIL_1]]&k=1');
    expect(decodeURIComponent(applied.query)).toBe('?note=[[EMAIL_1]]');
  });

  it('decodes text-like base64 and data URLs, masks inside and re-encodes; other binaries follow the policy', () => {
    const doc = {
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'document',
              source: { type: 'base64', media_type: 'text/csv', data: b64('name,ssn\nann,1') },
            },
            { type: 'image_url', image_url: { url: `data:text/plain;base64,${b64('ann here')}` } },
            { type: 'file', file: { filename: 'notes.md', file_data: b64('# ann') } },
            {
              type: 'image',
              source: {
                type: 'base64',
                media_type: 'image/png',
                data: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff]).toString('base64'),
              },
            },
            // Text disguised as an image is sniffed and scanned all the same.
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: b64('call ann') } },
          ],
        },
      ],
    };
    const allowed = collectRequest(structuredClone(doc), '', SCAN);
    expect(allowed.unscanned).toEqual(new Map([['image/png', 1]]));
    expect(allowed.refusedBinary.size).toBe(0);
    const refused = collectRequest(structuredClone(doc), '', STRICT);
    expect(refused.refusedBinary).toEqual(new Map([['image/png', 1]]));

    const collected = collectRequest(doc, '', SCAN);
    collected.apply(maskValues(collected.texts, { ann: '[[PERSON_1]]' }));
    const [csv, dataUrl, file, , disguised] = doc.messages[0]!.content as any[];
    expect(unb64(csv.source.data)).toBe('name,ssn\n[[PERSON_1]],1');
    expect(unb64(dataUrl.image_url.url.split(',')[1])).toBe('[[PERSON_1]] here');
    expect(unb64(file.file.file_data)).toBe('# [[PERSON_1]]');
    expect(unb64(disguised.source.data)).toBe('call [[PERSON_1]]');
  });

  it('decodes a base64 data URL pasted into a text field, and leaves prose that starts with "data:" alone', () => {
    const doc = {
      messages: [
        { role: 'user', content: `data:text/plain;base64,${b64('from ann')}` },
        { role: 'user', content: 'data: ann, see above' },
      ],
    };
    const collected = collectRequest(doc, '', SCAN);
    collected.apply(maskValues(collected.texts, { ann: '[[PERSON_1]]' }));
    expect(unb64(doc.messages[0]!.content.split(',')[1]!)).toBe('from [[PERSON_1]]');
    expect(doc.messages[1]!.content).toBe('data: [[PERSON_1]], see above');
  });

  it('decodes bare base64 text in a text field, and leaves base64 that is not text alone', () => {
    const doc = {
      messages: [
        { role: 'user', content: b64('please call ann at home') },
        {
          role: 'user',
          content: Buffer.from([
            0x89, 0x50, 0x4e, 0x47, 0xff, 0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60,
          ]).toString('base64'),
        },
      ],
    };
    const png = doc.messages[1]!.content;
    const collected = collectRequest(doc, '', SCAN);
    expect(collected.texts).toContain('please call ann at home');
    collected.apply(maskValues(collected.texts, { ann: '[[PERSON_1]]' }));
    expect(unb64(doc.messages[0]!.content)).toBe('please call [[PERSON_1]] at home');
    expect(doc.messages[1]!.content).toBe(png);
  });

  it('re-serialises embedded argument documents only when they changed, and renames keys in place', () => {
    const doc = {
      messages: [
        {
          role: 'assistant',
          tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{ "a": "secret" }' } }],
        },
        {
          role: 'assistant',
          tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{ "a": "same" }' } }],
        },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 't', name: 'f', input: { first: 1, secret: 'x', last: 2 } }],
        },
      ],
    };
    const collected = collectRequest(doc, '', SCAN);
    const applied = collected.apply(maskValues(collected.texts, { secret: '[[TERM_1]]' }));
    expect(applied.bodyChanged).toBe(true);
    const args = (i: number) => doc.messages[i]!.tool_calls![0]!.function.arguments;
    expect(args(0)).toBe('{"a":"[[TERM_1]]"}');
    expect(args(1)).toBe('{ "a": "same" }');
    expect(Object.keys(doc.messages[2]!.content![0]!.input)).toEqual(['first', '[[TERM_1]]', 'last']);

    const again = collectRequest(doc, '', SCAN);
    expect(again.apply(again.texts).bodyChanged).toBe(false);
  });

  it('treats unknown fields as text: strings, keys, and known names inside them', () => {
    const doc = {
      model: 'm',
      note: 'N1',
      extra: { name: 'N2', 'K@x.org': true, nested: [{ id: 'N3' }] },
      messages: [{ role: 'user', content: [{ type: 'sneaky', data: 'N4' }] }],
    };
    const collected = collectRequest(doc, '', SCAN);
    for (const expected of ['note', 'N1', 'extra', 'N2', 'K@x.org', 'N3', 'N4'])
      expect(collected.texts).toContain(expected);
    // Top-level `note` and `extra`, and the sneaky block's `data` (its type is unknown).
    expect(collected.unknownFields).toBe(3);
    // …but `'K@x.org': true` is a boolean in an unknown field: nothing can scan it, so it refuses.
    expect(collected.unscannableUnknown).toBe(1);
    expect(collected.unknownRefused).toBe(true);
  });

  it('refuses numbers, booleans and nulls in unknown fields under either rule; known ones pass', () => {
    const known = {
      model: 'm',
      temperature: 0.5,
      stream: false,
      seed: null,
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ name: 't', input_schema: { type: 'object', additionalProperties: false, minimum: 0 } }],
    };
    for (const policy of [SCAN, { ...SCAN, unknownFields: 'refuse' } as const]) {
      const collected = collectRequest(structuredClone(known), '', policy);
      expect([collected.unknownFields, collected.unscannableUnknown, collected.unknownRefused]).toEqual([
        0,
        0,
        false,
      ]);
    }
    for (const extra of [{ x: 1 }, { x: false }, { x: null }, { x: [null] }, { x: { y: { z: 2 } } }]) {
      const scanned = collectRequest({ ...structuredClone(known), ...extra }, '', SCAN);
      expect([scanned.unscannableUnknown, scanned.unknownRefused]).toEqual([1, true]);
    }
    // Text in unknown fields is scanned under `scan` and refused under `refuse`.
    const text = { ...structuredClone(known), x: { note: 'plain' } };
    expect(collectRequest(text, '', SCAN).unknownRefused).toBe(false);
    expect(
      collectRequest(structuredClone(text), '', { ...SCAN, unknownFields: 'refuse' }).unknownRefused,
    ).toBe(true);
  });

  it('reports numbers holding personal data as unmaskable instead of changing their type', () => {
    const doc = {
      messages: [
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: { ssn: 512447391 } }] },
      ],
    };
    const collected = collectRequest(doc, '', SCAN);
    expect(collected.texts).toContain('512447391');
    expect(collected.apply(maskValues(collected.texts, { '512447391': '[[SSN_1]]' })).unmaskable).toBe(1);
    expect(doc.messages[0]!.content[0]!.input.ssn).toBe(512447391);
  });

  it('refuses bodies nested deeper than the limit, without exhausting the stack', () => {
    const deep = JSON.parse(`${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`) as Record<string, unknown>;
    expect(() => collectRequest(deep, '', SCAN)).toThrow(AppError);
    let ok: Record<string, unknown> = { v: 'x' };
    for (let i = 0; i < MAX_REQUEST_DEPTH - 2; i++) ok = { a: ok };
    expect(() => collectRequest(ok, '', SCAN)).not.toThrow();
  });

  it('keeps a `__proto__` key an own property when it is masked', () => {
    const doc = JSON.parse('{"metadata":{"__proto__":{"polluted":"ann"}}}') as Record<string, unknown>;
    const collected = collectRequest(doc, '', SCAN);
    collected.apply(maskValues(collected.texts, { ann: '[[PERSON_1]]' }));
    expect(JSON.stringify(doc)).toBe('{"metadata":{"__proto__":{"polluted":"[[PERSON_1]]"}}}');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
