import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { formatSse, jsonData, SseParser, type SseEvent } from './sse.js';

const STREAM =
  'event: a\ndata: {"x":1}\n\n: keep-alive\n\ndata: line1\ndata: line2\nid: 7\n\nevent: b\r\ndata: crlf\r\n\r\ndata: [DONE]\n\n';
const EXPECTED: SseEvent[] = [
  { event: 'a', data: '{"x":1}' },
  { data: '', comments: [': keep-alive'] },
  { data: 'line1\nline2', id: '7' },
  { event: 'b', data: 'crlf' },
  { data: '[DONE]' },
];

function parseInPieces(text: string, cuts: number[]): SseEvent[] {
  const parser = new SseParser();
  const out: SseEvent[] = [];
  let last = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(...parser.push(text.slice(last, cut)));
    last = cut;
  }
  out.push(...parser.push(text.slice(last)), ...parser.end());
  return out;
}

describe('SseParser', () => {
  it('parses events, multi-line data, ids, comments and CRLF line ends', () => {
    expect(parseInPieces(STREAM, [])).toEqual(EXPECTED);
  });

  it('gives the same events however the bytes are cut, including between CR and LF', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: STREAM.length }), { maxLength: 15 }), (cuts) => {
        expect(parseInPieces(STREAM, cuts)).toEqual(EXPECTED);
      }),
    );
    expect(parseInPieces('data: a\r\n\r\ndata: b\r\n\r\n', [8, 9, 10])).toEqual([
      { data: 'a' },
      { data: 'b' },
    ]);
  });

  it('flushes a last event that was not terminated by a blank line', () => {
    expect(parseInPieces('data: tail', [])).toEqual([{ data: 'tail' }]);
  });

  it('formats events back into the wire form', () => {
    const text = EXPECTED.map(formatSse).join('');
    expect(parseInPieces(text, [])).toEqual(EXPECTED);
  });
});

describe('jsonData', () => {
  it("parses an event's JSON data, and is undefined for data that is not JSON", () => {
    expect(jsonData({ data: '{"type":"ping","index":2}' })).toEqual({ type: 'ping', index: 2 });
    expect(jsonData({ data: '[DONE]' })).toBeUndefined();
    expect(jsonData({ data: '' })).toBeUndefined();
    expect(jsonData({ data: '{"cut":' })).toBeUndefined();
  });

  it('is undefined for JSON that is not an object, which the restorers then pass on as it came', () => {
    for (const data of ['null', '1', '"text"', '[{"choices":[]}]', 'true'])
      expect(jsonData({ data })).toBeUndefined();
  });
});
