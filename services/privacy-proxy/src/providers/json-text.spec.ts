import { describe, expect, it } from '@jest/globals';
import { jsonStringContent, PlaceholderMapping, Pseudonymizer, Restorer } from '@orgmesh/privacy';
import { applyTexts, collectTexts, restoreDocument } from './json-text.js';

describe('collectTexts / applyTexts', () => {
  it('collects what the provider reads and skips identifiers, signatures and binary data', () => {
    const doc = {
      model: 'gpt-x',
      user: 'u@example.com',
      messages: [
        {
          role: 'user',
          name: 'alice',
          content: [
            { type: 'text', text: 'hello' },
            { type: 'image_url', image_url: { url: 'https://x/y.png' } },
          ],
        },
        {
          role: 'assistant',
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":"b","n":1}' } }],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 'sig==' },
            { type: 'image', source: { type: 'base64', data: 'AAAA' } },
          ],
        },
      ],
    };
    expect(collectTexts(doc).map((r) => r.text)).toEqual(['u@example.com', 'hello', 'b', 'hmm']);
  });

  it('scans every key inside tool arguments and tool inputs: there a "name" is data, not protocol', () => {
    const doc = {
      messages: [
        {
          role: 'assistant',
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'request_approval', arguments: '{"employee":{"name":"Kenji Ito","id":"E-1"}}' } },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: { employee: { name: 'Kenji Ito', type: 'staff' } } }] },
      ],
    };
    expect(collectTexts(doc).map((r) => r.text)).toEqual(['Kenji Ito', 'E-1', 'Kenji Ito', 'staff']);
  });

  it('writes masked strings back, re-serialising embedded argument documents only when they changed', () => {
    const doc = {
      messages: [
        { function: { arguments: '{ "a": "secret" }' } },
        { function: { arguments: '{ "a": "same" }' } },
        { content: 'x' },
      ],
    };
    const refs = collectTexts(doc);
    expect(
      applyTexts(
        refs,
        refs.map((r) => (r.text === 'secret' ? '[[TERM_00000000]]' : r.text)),
      ),
    ).toBe(true);
    expect(doc.messages[0]!.function!.arguments).toBe('{"a":"[[TERM_00000000]]"}');
    expect(doc.messages[1]!.function!.arguments).toBe('{ "a": "same" }');
    expect(
      applyTexts(
        collectTexts(doc),
        collectTexts(doc).map((r) => r.text),
      ),
    ).toBe(false);
  });

  it('treats non-JSON arguments as text', () => {
    const doc = { function: { arguments: 'not json' } };
    expect(collectTexts(doc).map((r) => r.text)).toEqual(['not json']);
  });
});

describe('restoreDocument', () => {
  it('restores every string, escaping values inside argument documents', () => {
    const mapping = new PlaceholderMapping();
    const p = new Pseudonymizer('json-text-test-key-0123456789').placeholder(
      't',
      'person',
      'A "B" C',
      mapping,
    );
    const doc = {
      id: p,
      choices: [
        {
          message: {
            content: `to ${p}`,
            tool_calls: [{ function: { name: 'f', arguments: `{"to":"${p}"}` } }],
          },
        },
      ],
    };
    restoreDocument(doc, new Restorer(mapping), new Restorer(mapping, { encode: jsonStringContent }));
    expect(doc.id).toBe(p);
    expect(doc.choices[0]!.message.content).toBe('to A "B" C');
    expect(JSON.parse(doc.choices[0]!.message.tool_calls[0]!.function.arguments)).toEqual({ to: 'A "B" C' });
  });
});
