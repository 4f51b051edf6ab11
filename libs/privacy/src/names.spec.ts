import { describe, expect, it } from '@jest/globals';
import { Detector } from './detector.js';
import { MaskingSession } from './masking-session.js';
import { NameRecogniser } from './names.js';
import { PrivacyProfileSchema } from './profile.js';
import { Pseudonymizer } from './pseudonymizer.js';

const recogniser = new NameRecogniser(['José Álvarez', 'Jean-Luc Martin', 'Jane Doe']);
const names = (text: string) => recogniser.find(text).map((h) => text.slice(h.start, h.end));

describe('NameRecogniser', () => {
  it.each([
    ['Please call Marisol Okonkwo tomorrow', ['Marisol Okonkwo']],
    ['Dear Chukwuemeka Adeyemi,\nthank you for your order.', ['Chukwuemeka Adeyemi']],
    ['Kind regards,\nThandiwe Mokoena', ['Thandiwe Mokoena']],
    ["Meeting with Mr. O'Brien and Dr. van der Berg on Monday.", ["O'Brien", 'van der Berg']],
    [
      'Attendees: Kofi Mensah, Wei Zhang and Fatima Al-Sayed.',
      ['Kofi Mensah', 'Wei Zhang', 'Fatima Al-Sayed'],
    ],
    ['Send it to Marisol.', ['Marisol']],
    // A comma after a name does not make the next capitalised word a name: no list goes on.
    ['Hi Marisol, Salesforce is down.', ['Marisol']],
    ['Ngozi, Kofi Mensah and Wei Zhang joined.', ['Ngozi', 'Kofi Mensah', 'Wei Zhang']],
    ['The supplier contact is Nguyen Van Anh from Hanoi.', ['Nguyen Van Anh']],
  ])('finds the names in %j', (text, expected) => {
    expect(names(text)).toEqual(expected);
  });

  it.each([
    ['upper case', 'The customer MARISOL OKONKWO asked for a refund.', ['MARISOL OKONKWO']],
    ['lower case, known to the lexicon', 'ask priya sharma about it', ['priya sharma']],
    ['accents', 'Escalated by Joaquín Gutiérrez today.', ['Joaquín Gutiérrez']],
    ['NBSP between the words', 'Please call Marisol\u00a0Okonkwo tomorrow', ['Marisol\u00a0Okonkwo']],
    ['hyphen and apostrophe', "Hi Jean-Luc, cc Siobhan O'Brien", ['Jean-Luc', "Siobhan O'Brien"]],
    [
      'inner capitals of a surname prefix',
      'cc Fiona MacLeod and DeShawn Washington',
      ['Fiona MacLeod', 'DeShawn Washington'],
    ],
    ['possessive', "Marisol Okonkwo's report is late.", ['Marisol Okonkwo']],
  ])('is tolerant of %s', (_what, text, expected) => {
    expect(names(text)).toEqual(expected);
  });

  it('matches directory names whatever their case, accents, spacing or hyphens', () => {
    expect(names('Ask JOSE ALVAREZ, jose\u00a0alvarez and Jean Luc Martin')).toEqual([
      'JOSE ALVAREZ',
      'jose\u00a0alvarez',
      'Jean Luc Martin',
    ]);
    expect(recogniser.find('jane doe signed').map((h) => h.score)).toEqual([0.95]);
  });

  it.each([
    'We visited Paris in March and bought a Samsung Galaxy Tab.',
    'The Chief Financial Officer approved the Q3 Budget.',
    'Amazon Web Services hosts the Customer Portal.',
    'Orion Analytics signed with Siemens Healthineers in Kuala Lumpur.',
    'In June we met in Rio de Janeiro.',
    'Mark the invoice as paid on Monday.',
    'Will the Quarterly Business Review move to Thursday?',
    'Dear Customer, your ticket has been updated.',
    'Regards,\nCustomer Support',
    'every LLM call: OpenAI- and Anthropic-compatible',
    'one replica runs each job (Postgres advisory lock or `SKIP LOCKED`).',
    'A Retryable AppError is thrown by getUser; titles: mx dr mme mlle.',
    'const userName = getUser(MarisolOkonkwo_2024); see /home/Marisol_Okonkwo/notes',
  ])('leaves the look-alike %j alone', (text) => {
    expect(names(text)).toEqual([]);
  });

  it('does not join the words on either side of an ordinary word', () => {
    // "said" is dropped by the scanner; Marisol and Okonkwo must not become one name across it.
    expect(names('Marisol said Okonkwo would call.')).toEqual(['Marisol']);
  });

  // Work counts, not a clock: a loaded machine stretches time but not work, and quadratic growth
  // shows as ~16× the work for 4× the text.
  const workFor = (text: string) => {
    const fresh = new NameRecogniser(['José Álvarez', 'Jean-Luc Martin', 'Jane Doe']);
    const found = fresh.find(text);
    return { found: found.length, work: fresh.work };
  };

  it('stays linear in name-dense text: 4× the text, 4× the names, 4× the work', () => {
    const para =
      'The invoice for Acme Corp was approved on Monday. Please call Marisol Okonkwo tomorrow, cc Jean-Luc Moreau.\n' +
      'Attendees: Kofi Mensah, Ngozi and Wei Zhang; signed JOSE ALVAREZ, ask priya sharma, Mr. van der Berg.\n';
    const small = workFor(para.repeat(250));
    const large = workFor(para.repeat(1000));
    expect(small.found).toBeGreaterThanOrEqual(7 * 250);
    expect(large.found).toBe(4 * small.found);
    expect(small.work).toBeGreaterThan(para.length * 250);
    expect(large.work / small.work).toBeGreaterThan(3.9);
    expect(large.work / small.work).toBeLessThan(4.1);
  });

  it('stays linear on one run of capitalised words (the longest chunk there can be)', () => {
    const small = workFor('Aa '.repeat(50_000));
    const large = workFor('Aa '.repeat(200_000));
    expect([small.found, large.found]).toEqual([0, 0]);
    expect(large.work / small.work).toBeGreaterThan(3.9);
    expect(large.work / small.work).toBeLessThan(4.1);
  });
});

describe('names in the detector and the masking session', () => {
  const profile = PrivacyProfileSchema.parse({ mode: 'mask' });

  it('masks a name outside the directory and restores it', () => {
    const session = new MaskingSession(
      Detector.forProfile(profile),
      new Pseudonymizer('k'.repeat(32)),
      profile,
      'acme',
    );
    const masked = session.process('Please call Marisol Okonkwo tomorrow');
    expect(masked).toMatch(/^Please call \[\[PERSON_[0-9a-f]{8}\]\] tomorrow$/);
    expect(session.restorer().restore(masked)).toBe('Please call Marisol Okonkwo tomorrow');
  });

  it('is switched off per profile with names: false (directory and cue rules stay)', () => {
    const off = Detector.forProfile(PrivacyProfileSchema.parse({ mode: 'mask', names: false }), {
      people: [{ name: 'Jane Doe' }],
    });
    const found = (text: string) =>
      off
        .detect(text, { includeText: true })
        .filter((e) => e.type === 'person')
        .map((e) => e.text);
    expect(found('Please call Marisol Okonkwo tomorrow')).toEqual([]);
    expect(found('Please call Jane Doe tomorrow')).toEqual(['Jane Doe']);
    expect(found('Dear Marisol,')).toEqual(['Marisol']);
    // The directory's names stay tolerant with names off: case, accents, hyphens.
    const withAccents = Detector.forProfile(PrivacyProfileSchema.parse({ mode: 'mask', names: false }), {
      people: [{ name: 'José Álvarez' }, { name: 'Jane Doe' }],
    });
    const persons = (text: string) =>
      withAccents
        .detect(text, { includeText: true })
        .filter((e) => e.type === 'person')
        .map((e) => e.text);
    expect(persons('Ask jose alvarez and Jane-Doe')).toEqual(['jose alvarez', 'Jane-Doe']);
  });

  it('finds a name written with zero-width characters inside (the detector normalises first)', () => {
    const on = Detector.forProfile(profile);
    const text = 'Please call Mari\u200bsol Okon\u00adkwo tomorrow';
    expect(on.detect(text, { includeText: true }).map((e) => e.text)).toEqual([
      'Mari\u200bsol Okon\u00adkwo',
    ]);
  });
});
