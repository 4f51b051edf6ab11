import { describe, expect, it } from '@jest/globals';
import { parseCsv } from './org-csv.js';

describe('parseCsv', () => {
  it('numbers records by the line they start on', () => {
    const parsed = parseCsv('a,b\n"x\ny",z\n\nlast,row\n');
    expect(parsed.ok && parsed.records.map((r) => r.line)).toEqual([1, 2, 5]);
  });

  it('reads quoted commas, doubled quotes, CRLF and a BOM', () => {
    const parsed = parseCsv('\ufeffid,name\r\n1,"Okafor, ""Ben"""\r\n');
    expect(parsed).toEqual({
      ok: true,
      records: [
        { line: 1, fields: ['id', 'name'] },
        { line: 2, fields: ['1', 'Okafor, "Ben"'] },
      ],
    });
  });

  it('names the line of an unterminated quote and of text after a closing quote', () => {
    expect(parseCsv('id\n"open\n')).toEqual({ ok: false, line: 2, reason: 'unterminated quoted field' });
    expect(parseCsv('id\n"a"b\n')).toEqual({ ok: false, line: 2, reason: 'text after a closing quote' });
  });
});
