import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { Detector, resolveOverlaps } from './detector.js';

const types = (d: Detector, text: string) =>
  d.detect(text, { includeText: true }).map((e) => [e.type, e.text]);

describe('Detector', () => {
  const detector = new Detector({
    directory: {
      people: [
        { name: 'Jane Doe', email: 'jane.doe@acme.example', userId: 'u-1001' },
        { name: "Liam O'Connor" },
      ],
    },
    denyList: ['Project Nightjar'],
    employeeIdPattern: 'EMP-\\d{5}',
    customPatterns: [{ name: 'case-ref', pattern: 'CASE-[0-9]{6}', action: undefined, flags: undefined }],
  });

  it('finds structured values and validates their checksums', () => {
    expect(types(detector, 'card 4111 1111 1111 1111, not 4111 1111 1111 1112')).toEqual([
      ['credit_card', '4111 1111 1111 1111'],
    ]);
    expect(types(detector, 'IBAN DE89 3704 0044 0532 0130 00 vs DE89 3704 0044 0532 0130 01')).toEqual([
      ['iban', 'DE89 3704 0044 0532 0130 00'],
    ]);
    expect(types(detector, 'SSN 123-45-6789 but never 666-45-6789')).toEqual([['ssn', '123-45-6789']]);
    expect(types(detector, 'from 10.0.0.1 and 2001:db8::8a2e:370:7334, version 1.2.3.4')).toEqual([
      ['ip_address', '10.0.0.1'],
      ['ip_address', '2001:db8::8a2e:370:7334'],
    ]);
  });

  it('finds phones in international and national formats, not dates or ids', () => {
    expect(types(detector, 'Call +44 (0)20 7946 0958 or (212) 555-0147 or 030 12345678.')).toEqual([
      ['phone', '+44 (0)20 7946 0958'],
      ['phone', '(212) 555-0147'],
      ['phone', '030 12345678'],
    ]);
    expect(types(detector, 'Order 2024-03-15 id ORD-555-123-4567 ISBN 978-3-16-148410-0')).toEqual([]);
  });

  it('uses context for dates of birth, account numbers and employee ids', () => {
    expect(types(detector, 'Meeting 12/03/1985. DOB: 12/03/1985')).toEqual([['date_of_birth', '12/03/1985']]);
    expect(types(detector, 'account 12345678 and invoice 12345678')).toEqual([
      ['account_number', '12345678'],
    ]);
    expect(types(detector, 'Employee ID: E-10421, badge EMP-20431')).toEqual([
      ['employee_id', 'E-10421'],
      ['employee_id', 'EMP-20431'],
    ]);
  });

  it('finds people from cues and from the org chart, case-insensitively and possessive', () => {
    expect(
      types(detector, "Dear Mr. Hendricks, jane doe asked; Doe, Jane too; Liam O'Connor's desk; u-1001"),
    ).toEqual([
      ['person', 'Hendricks'],
      ['person', 'jane doe'],
      ['person', 'Doe, Jane'],
      ['person', "Liam O'Connor"],
      ['employee_id', 'u-1001'],
    ]);
    expect(types(detector, 'Dear Team, Customer Success and Hello World')).toEqual([]);
  });

  it('applies deny-lists and custom patterns of the profile', () => {
    expect(types(detector, 'project nightjar: see CASE-123456')).toEqual([
      ['deny_list', 'project nightjar'],
      ['case-ref', 'CASE-123456'],
    ]);
  });

  it('keeps the longer, higher-scored entity when an address swallows an earlier hit', () => {
    expect(types(detector, 'a%123-45-6789%234-56-7890@mail.example.com and 123-45-6789')).toEqual([
      ['email', 'a%123-45-6789%234-56-7890@mail.example.com'],
      ['ssn', '123-45-6789'],
    ]);
  });

  it('resolves overlaps deterministically: score, then length, then position', () => {
    const hits = [
      { type: 'b', start: 0, end: 10, score: 0.5 },
      { type: 'a', start: 5, end: 8, score: 0.9 },
      { type: 'c', start: 8, end: 12, score: 0.9 },
      { type: 'd', start: 20, end: 25, score: 0.1 },
    ];
    expect(resolveOverlaps(hits).map((h) => h.type)).toEqual(['a', 'c', 'd']);
    expect(resolveOverlaps([...hits].reverse()).map((h) => h.type)).toEqual(['a', 'c', 'd']);
  });

  it('merges an external recogniser and ignores malformed spans', async () => {
    const ner = new Detector({
      ner: async (text) => [
        { type: 'PER', start: text.indexOf('Zed'), end: text.indexOf('Zed') + 3, score: 0.8 },
        { type: 'LOC', start: -1, end: 400, score: 1 },
      ],
    });
    expect((await ner.detectAsync('ask Zed at zed@x.io')).map((e) => e.type)).toEqual(['person', 'email']);
  });

  it('reports a disguised value as its whole original span, with its original text', () => {
    const text = 'mail marta.kl\u200bein&#64;example.com or ５１２-４４-７３９１ (SSN)';
    const found = new Detector().detect(text, { includeText: true });
    expect(found.map((e) => [e.type, e.text])).toEqual([
      ['email', 'marta.kl\u200bein&#64;example.com'],
      ['ssn', '５１２-４４-７３９１'],
    ]);
    expect(found.map((e) => text.slice(e.start, e.end))).toEqual(found.map((e) => e.text));
    // Off, the same text holds nothing a rule recognises whole.
    expect(new Detector({ normalize: false }).detect(text).map((e) => e.type)).not.toContain('ssn');
  });

  it('runs in-process recognisers on the normalised text and maps their spans back', () => {
    const seen: string[] = [];
    const recognizer = (text: string) => {
      seen.push(text);
      const at = text.indexOf('Marisol Okonkwo');
      return at < 0 ? [] : [{ type: 'person', start: at, end: at + 'Marisol Okonkwo'.length, score: 0.8 }];
    };
    const text = 'Please call Mari\u00adsol\u00a0Okonkwo tomorrow';
    const found = new Detector({ recognizers: [recognizer] }).detect(text, { includeText: true });
    expect(seen).toEqual(['Please call Marisol Okonkwo tomorrow']);
    expect(found.map((e) => [e.type, e.text])).toEqual([['person', 'Mari\u00adsol\u00a0Okonkwo']]);
  });

  it('refuses an invalid custom pattern naming its key', () => {
    expect(
      () =>
        new Detector({
          customPatterns: [{ name: 'bad', pattern: '([', action: undefined, flags: undefined }],
        }),
    ).toThrow(AppError);
  });

  it('is linear on adversarial input', () => {
    const text = `${'1 '.repeat(50_000)}${'9'.repeat(50_000)}${'a@'.repeat(20_000)}${'Mr. '.repeat(20_000)}`;
    const started = process.hrtime.bigint();
    detector.detect(text);
    // Catastrophic backtracking would take minutes; a loaded CI machine takes a second or two.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(10_000);
  });
});
