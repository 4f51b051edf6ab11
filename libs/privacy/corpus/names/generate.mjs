#!/usr/bin/env node
// Generates the people's-names evaluation corpus (issue 19): `names.jsonl` (lines holding names, each
// line with the exact names it holds) and `clean.jsonl` (look-alike lines without any person).
// Deterministic: lists × templates, picked by index arithmetic, no randomness. Run from anywhere:
//   node libs/privacy/corpus/names/generate.mjs
// The name lists were written from common names of each region before the recogniser's rules were
// tuned, and are not edited to suit it. Every third name (index % 3 === 2) is held out: the rules were
// tuned on the other two thirds only, and the quality test reports both shares.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Full names by origin: [given, family]. */
const PEOPLE = {
  european: [
    ['Marta', 'Kowalski'],
    ['Jean-Luc', 'Moreau'],
    ['Sophie', 'Lefèvre'],
    ['Lars', 'Andersson'],
    ['Giulia', 'Bianchi'],
    ['Hans', 'Müller'],
    ['Siobhan', "O'Brien"],
    ['Pieter', 'van der Berg'],
    ['Ana', 'Ferreira'],
    ['Nikos', 'Papadopoulos'],
    ['Katarzyna', 'Nowak'],
    ['Miguel', 'Fernández'],
    ['Ingrid', 'Johansen'],
    ['Tomás', 'Novák'],
    ['Elena', 'Popescu'],
    ['Björn', 'Lindqvist'],
    ['Fiona', 'MacLeod'],
    ['Dieter', 'Schröder'],
    ['Clara', 'Dubois'],
    ['Aleksandr', 'Ivanov'],
  ],
  african: [
    ['Chukwuemeka', 'Adeyemi'],
    ['Ngozi', 'Okafor'],
    ['Kofi', 'Mensah'],
    ['Amara', 'Diallo'],
    ['Thandiwe', 'Mokoena'],
    ['Oluwaseun', 'Bakare'],
    ['Abebe', 'Bekele'],
    ['Wanjiru', 'Kamau'],
    ['Kwame', 'Asante'],
    ['Fatoumata', 'Traoré'],
    ['Tendai', 'Moyo'],
    ['Zanele', 'Dlamini'],
    ['Yaw', 'Boateng'],
    ['Aisha', 'Bello'],
    ['Sipho', 'Nkosi'],
    ['Chiamaka', 'Eze'],
    ['Mamadou', 'Ndiaye'],
    ['Nia', 'Achieng'],
    ['Babajide', 'Olawale'],
    ['Marisol', 'Okonkwo'],
  ],
  asian: [
    ['Wei', 'Zhang'],
    ['Haruto', 'Tanaka'],
    ['Priya', 'Sharma'],
    ['Min-jun', 'Kim'],
    ['Nguyen', 'Thi Lan'],
    ['Arjun', 'Reddy'],
    ['Yuki', 'Nakamura'],
    ['Siti', 'Rahman'],
    ['Anh', 'Tran'],
    ['Rahul', 'Gupta'],
    ['Mei', 'Lin'],
    ['Hiroshi', 'Watanabe'],
    ['Seo-yeon', 'Park'],
    ['Ananya', 'Iyer'],
    ['Jia', 'Hui Chen'],
    ['Somchai', 'Srisuk'],
    ['Dewi', 'Lestari'],
    ['Kenji', 'Yamamoto'],
    ['Farhan', 'Hossain'],
    ['Lakshmi', 'Narayanan'],
  ],
  latinAmerican: [
    ['José', 'Álvarez'],
    ['María', 'González'],
    ['Juan Carlos', 'Rodríguez'],
    ['Camila', 'Pereira'],
    ['Diego', 'Hernández'],
    ['Valentina', 'Restrepo'],
    ['Luis', 'Quispe'],
    ['Fernanda', 'Oliveira'],
    ['Mateo', 'Castillo'],
    ['Ximena', 'Gutiérrez'],
    ['Rafael', 'dos Santos'],
    ['Paola', 'Mendoza'],
    ['Andrés', 'Villalobos'],
    ['Gabriela', 'Souza'],
    ['Santiago', 'Ramírez'],
    ['Luciana', 'Barros'],
    ['Joaquín', 'Morales'],
    ['Daniela', 'Cárdenas'],
    ['Thiago', 'Carvalho'],
    ['Renata', 'Salazar'],
  ],
  middleEastern: [
    ['Fatima', 'Al-Sayed'],
    ['Omar', 'Haddad'],
    ['Leila', 'Karimi'],
    ['Yusuf', 'Demir'],
    ['Noor', 'Al-Hashimi'],
    ['Reza', 'Tehrani'],
    ['Layla', 'Nasser'],
    ['Ahmed', 'Farouk'],
    ['Yael', 'Cohen'],
    ['Mehmet', 'Yılmaz'],
    ['Samira', 'Khalil'],
    ['Tariq', 'Mansour'],
    ['Dalia', 'Aziz'],
    ['Hamid', 'Rostami'],
    ['Rania', 'Saleh'],
    ['Emre', 'Aydın'],
    ['Zainab', 'Hussein'],
    ['Karim', 'Bouzid'],
    ['Shira', 'Levi'],
    ['Nasrin', 'Jafari'],
  ],
  northAmericanAndOceanian: [
    ['Emily', 'Johnson'],
    ['Tyler', 'Brooks'],
    ['Madison', 'Clarke'],
    ['Jamal', 'Washington'],
    ['Hannah', 'Whitfield'],
    ['Connor', 'McAllister'],
    ['Aroha', 'Ngata'],
    ['Brianna', 'Foster'],
    ['Dakota', 'Begay'],
    ['Logan', 'Fitzgerald'],
    ['Chloe', 'Tremblay'],
    ['Marcus', 'Holloway'],
    ['Jasmine', 'Pritchard'],
    ['Kai', 'Kealoha'],
    ['Savannah', 'Reyes'],
    ['Ethan', 'Dunmore'],
  ],
};

/** Contexts for one name; `{N}` is the name. Customers, suppliers, signatures, greetings, mentions. */
const ONE_NAME = [
  'Please call {N} tomorrow about the delivery.',
  'Dear {N},\nthank you for your order.',
  'Kind regards,\n{N}',
  'Best regards,\n{N}\nProcurement',
  'The customer {N} asked for a refund on order 4471.',
  'Our supplier contact is {N}; she handles the Lisbon warehouse.',
  '{N} approved the purchase order this morning.',
  'Can you forward the contract to {N} before Friday?',
  'Hi {N}, the invoice is attached.',
  'Meeting notes: {N} will prepare the budget review.',
  'Escalated by {N} after the second failed payment.',
  'I spoke with {N} from the logistics partner yesterday.',
  'Ask {N} whether the shipment left the port.',
  'The complaint from {N} was resolved within two days.',
  'Reminder: {N} is out of office until the 14th.',
  'Thanks, {N}',
  'Invoice disputed by {N}, see the attached statement.',
  'Onboarding buddy for the new hire: {N}.',
  'The account manager, {N}, confirmed the discount.',
  'Send the signed copy to {N} in legal.',
];
/** Contexts for a list of names. */
const LIST = [
  'Attendees: {A}, {B} and {C}.',
  'Please add {A} and {B} to the distribution list.',
  'Approvers: {A}, {B}',
  'cc: {A}; {B}',
];
/** Case variants, applied to some lines: people type names in every case. */
const CASES = [
  (s) => s,
  (s) => s,
  (s) => s,
  (s) => s,
  (s) => s,
  (s) => s.toUpperCase(),
  (s) => s.toLowerCase(),
];

const people = [];
for (const [origin, list] of Object.entries(PEOPLE))
  list.forEach(([given, family], i) => people.push({ origin, given, family, heldOut: i % 3 === 2 }));

const names = [];
people.forEach((p, i) => {
  const full = `${p.given} ${p.family}`;
  // Each person appears in two contexts: full name, and (every other person) the full name in
  // another case or with a non-breaking space, or the given name alone after a cue.
  const t1 = ONE_NAME[i % ONE_NAME.length];
  names.push({ text: t1.replace('{N}', full), names: [full], origin: p.origin, heldOut: p.heldOut });
  const t2 = ONE_NAME[(i * 7 + 3) % ONE_NAME.length];
  const variant = CASES[i % CASES.length](full);
  const spaced = i % 5 === 1 ? variant.replace(' ', '\u00a0') : variant;
  names.push({ text: t2.replace('{N}', spaced), names: [spaced], origin: p.origin, heldOut: p.heldOut });
});
for (let i = 0; i + 2 < people.length; i += 3) {
  const [a, b, c] = [people[i], people[i + 7] ?? people[i + 1], people[(i * 5 + 11) % people.length]];
  const fa = `${a.given} ${a.family}`;
  const fb = `${b.given} ${b.family}`;
  const fc = `${c.given} ${c.family}`;
  const t = LIST[(i / 3) % LIST.length];
  const used = [fa, fb, ...(t.includes('{C}') ? [fc] : [])];
  names.push({
    text: t.replace('{A}', fa).replace('{B}', fb).replace('{C}', fc),
    names: used,
    origin: 'mixed',
    heldOut: a.heldOut && b.heldOut,
  });
}

/** Look-alikes: capitalised words and phrases that are no people. */
const LOOKALIKES = {
  product: [
    'Samsung Galaxy Tab',
    'Surface Pro',
    'ThinkPad Carbon',
    'Microsoft Teams',
    'Google Sheets',
    'Adobe Acrobat',
    'Salesforce Service Cloud',
    'Oracle NetSuite',
    'Apple Watch',
    'Kindle Paperwhite',
    'PlayStation Portal',
    'Jira Service Management',
    'Power BI',
    'Visual Studio Code',
    'Slack Connect',
    'Dropbox Business',
    'Zoom Rooms',
    'Xero Payroll',
    'QuickBooks Online',
    'Tableau Desktop',
  ],
  place: [
    'Kuala Lumpur',
    'Addis Ababa',
    'Rio de Janeiro',
    'São Paulo',
    'Abu Dhabi',
    'Buenos Aires',
    'Cape Town',
    'New Delhi',
    'Hong Kong',
    'Lake Geneva',
    'Mexico City',
    'Port Harcourt',
    'Dar es Salaam',
    'Ho Chi Minh City',
    'Tel Aviv',
    'Saint Petersburg',
    'Los Angeles',
    'Nairobi',
    'Rotterdam',
    'Jakarta',
  ],
  company: [
    'Siemens Healthineers',
    'Tata Consultancy Services',
    'Banco Santander',
    'Mitsubishi Heavy Industries',
    'Deutsche Bahn',
    'Standard Chartered',
    'Unilever',
    'Nestlé',
    'Maersk Line',
    'Emirates Airline',
    'Safaricom',
    'Infosys',
    'Petrobras',
    'Toyota Motor',
    'Airbus Defence',
    'Accenture',
    'Nordwind Logistics',
    'Bluefin Capital Partners',
    'Acme Corporation',
    'Globex Industries',
  ],
  phrase: [
    'Quarterly Business Review',
    'Terms and Conditions',
    'Annual General Meeting',
    'Purchase Order',
    'Service Level Agreement',
    'Statement of Work',
    'Request for Proposal',
    'Key Performance Indicators',
    'Net Promoter Score',
    'Data Protection Impact Assessment',
    'Accounts Payable',
    'General Ledger',
    'Business Continuity Plan',
    'Code of Conduct',
    'Travel Expense Policy',
    'Customer Success',
    'Month End Close',
    'Open Source',
    'Black Friday',
    'Cyber Monday',
  ],
  calendar: [
    'Monday',
    'Tuesday',
    'Wednesday',
    'Thursday',
    'Friday',
    'Saturday',
    'Sunday',
    'January',
    'February',
    'March',
    'April',
    'May',
    'June',
    'July',
    'August',
    'September',
    'October',
    'November',
    'December',
    'Easter Monday',
  ],
  title: [
    'Chief Financial Officer',
    'Head of Procurement',
    'Vice President of Sales',
    'General Counsel',
    'Data Protection Officer',
    'Senior Accountant',
    'Regional Sales Manager',
    'Chief Executive Officer',
    'Finance Business Partner',
    'Payroll Specialist',
    'Legal Counsel',
    'Office Manager',
    'IT Administrator',
    'Head of Legal',
    'Managing Director',
    'Credit Controller',
    'Operations Lead',
    'Account Executive',
    'Customer Support Agent',
    'Procurement Officer',
  ],
};
const CLEAN_TEMPLATES = {
  product: [
    'We renewed the {X} licences for another year.',
    'The {X} subscription is billed monthly.',
    'Please install {X} before the training.',
  ],
  place: [
    'The shipment leaves {X} on the next vessel.',
    'Our new office in {X} opens next quarter.',
    'Flights to {X} are booked through the travel desk.',
  ],
  company: [
    'The framework agreement with {X} was renewed.',
    '{X} sent the revised quote.',
    'Payment to {X} is due in thirty days.',
  ],
  phrase: [
    'The {X} is attached for your review.',
    'See section 4 of the {X}.',
    '{X} figures improved this quarter.',
  ],
  calendar: [
    'The report is due on {X}.',
    'Deliveries resume in {X} after the holidays.',
    '{X} is the cut-off for expense claims.',
  ],
  title: [
    'The {X} must sign every contract above the threshold.',
    'Please route the request to the {X}.',
    'Our {X} joins the call at ten.',
  ],
};
const clean = [];
for (const [kind, list] of Object.entries(LOOKALIKES)) {
  list.forEach((x, i) => {
    for (let k = 0; k < 3; k++) {
      if (k === 2 && i % 2 === 1) continue;
      const t = CLEAN_TEMPLATES[kind][(i + k) % 3];
      clean.push({ text: t.replace('{X}', x), kind });
    }
  });
}
/** Sentence-initial capitals and ordinary business prose. */
const PROSE = [
  'Attached is the signed statement for March.',
  'Please find the revised budget below.',
  'Thanks for the quick turnaround on the audit.',
  'Unfortunately the payment failed again.',
  'Regarding the renewal, legal has no objections.',
  'Following our call, here are the next steps.',
  'Approved. Go ahead with the order.',
  'Happy New Year from the Finance team!',
  'Reminder: the Friday stand-up moves to Thursday.',
  'Congratulations on closing the Q3 books early.',
  'Could Accounts Payable check invoice 88123?',
  'Best practice is to rotate the keys every 90 days.',
  'Kind reminder that timesheets are due today.',
  'Welcome to the Customer Portal.',
  'Grace periods apply to late payments under the new terms.',
  'Will the auditors need access to the General Ledger?',
  'Summer hours start in June.',
  'Dear Customer, your ticket has been updated.',
  'Hi Team, the deployment is done.',
  'Best regards,\nThe Finance Team',
  'Regards,\nCustomer Support',
  'Hello World is the first example in the handbook.',
  'Merry Christmas and a Happy New Year to everyone.',
  'Black Friday orders doubled compared with last year.',
  'The European Union rules on VAT changed in July.',
  'United Nations holidays are observed by the Geneva office.',
  'Our Net Zero target is set for 2040.',
  'The Supreme Court ruling affects our contracts.',
  'Amazon Web Services hosts the reporting cluster.',
  'Middle East and Africa revenue grew by eight percent.',
];
for (const text of PROSE) clean.push({ text, kind: 'prose' });

const toLines = (rows) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
writeFileSync(join(here, 'names.jsonl'), toLines(names));
writeFileSync(join(here, 'clean.jsonl'), toLines(clean));
const nameCount = names.reduce((n, r) => n + r.names.length, 0);
console.log(`names.jsonl: ${names.length} lines, ${nameCount} names; clean.jsonl: ${clean.length} lines`);
