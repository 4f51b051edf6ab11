import { describe, expect, it } from '@jest/globals';
import { jsonStringContent, PlaceholderMapping, Pseudonymizer, Restorer } from '@orgmesh/privacy';
import { restoreDocument } from './json-text.js';

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
