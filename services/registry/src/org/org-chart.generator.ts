import { ORG_CHART_COLUMNS } from './org-chart.js';

const FIRST_NAMES = [
  'Ada',
  'Alan',
  'Amara',
  'Ana',
  'Arjun',
  'Beatriz',
  'Bruno',
  'Chen',
  'Chiara',
  'Daniel',
  'Dmitri',
  'Elena',
  'Emeka',
  'Fatima',
  'Felix',
  'Grace',
  'Hana',
  'Hugo',
  'Ines',
  'Ivan',
  'Jamal',
  'Jana',
  'Jonas',
  'Julia',
  'Kai',
  'Kenji',
  'Lara',
  'Leon',
  'Lina',
  'Lucas',
  'Maya',
  'Mateo',
  'Mei',
  'Nadia',
  'Noah',
  'Olga',
  'Omar',
  'Paula',
  'Priya',
  'Rafael',
  'Rosa',
  'Sam',
  'Sara',
  'Sofia',
  'Tariq',
  'Tomas',
  'Vera',
  'Wei',
  'Yara',
  'Zoe',
];
const LAST_NAMES = [
  'Adeyemi',
  'Almeida',
  'Bauer',
  'Brooks',
  'Castillo',
  'Chowdhury',
  'Costa',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Haddad',
  'Hansen',
  'Ito',
  'Jensen',
  'Kaur',
  'Kowalski',
  'Larsen',
  'Lopez',
  'Mbeki',
  'Meyer',
  'Moreau',
  'Nakamura',
  'Novak',
  'Okafor',
  'Park',
  'Petrov',
  'Quinn',
  'Rossi',
  'Santos',
  'Schmidt',
  'Silva',
  'Singh',
  'Suzuki',
  'Tanaka',
  'Usman',
  'Varga',
  'Weber',
  'Yilmaz',
  'Zhang',
];

/** The demo registry's departments and the role their individual contributors hold. */
export const DEMO_DEPARTMENTS: ReadonlyArray<{ department: string; role: string }> = [
  { department: 'Finance', role: 'finance' },
  { department: 'Legal', role: 'legal' },
  { department: 'Human Resources', role: 'hr' },
  { department: 'Engineering', role: 'engineering' },
  { department: 'Sales', role: 'sales' },
];

export interface OrgChartGeneratorOptions {
  readonly size: number;
  /** Same seed, same chart. */
  readonly seed?: number;
  readonly departments?: ReadonlyArray<{ department: string; role: string }>;
  /** The role of the CEO, department heads and team leads. */
  readonly managerRole?: string;
  /** Direct reports per manager. */
  readonly span?: number;
}

/**
 * A valid, deterministic org chart CSV of fake people (example.com emails): a CEO, one head per
 * department, and teams of `span` people, each full team led by a manager. For samples and benchmarks.
 */
export function generateOrgChart(options: OrgChartGeneratorOptions): string {
  const departments = options.departments ?? DEMO_DEPARTMENTS;
  const managerRole = options.managerRole ?? 'manager';
  const span = options.span ?? 7;
  const random = mulberry32(options.seed ?? 42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const emails = new Set<string>();
  const lines: string[] = [ORG_CHART_COLUMNS.join(',')];
  const id = (n: number): string => `u${String(n).padStart(5, '0')}`;

  const person = (n: number, reportsTo: string, role: string, department: string): void => {
    const first = pick(FIRST_NAMES);
    const last = pick(LAST_NAMES);
    const base = `${first}.${last}`.toLowerCase();
    let email = `${base}@example.com`;
    for (let k = 2; emails.has(email); k++) email = `${base}${k}@example.com`;
    emails.add(email);
    lines.push([id(n), reportsTo, `${first} ${last}`, role, email, department].map(csvField).join(','));
  };

  let n = 1;
  person(n, '', managerRole, 'Executive');
  // Each department is a complete span-ary tree under the CEO, in breadth-first order: shallow
  // (4 levels for 10,000 people) and every manager-role person has reports.
  const others = Math.max(0, options.size - 1);
  departments.forEach((dept, d) => {
    const deptSize = Math.floor(others / departments.length) + (d < others % departments.length ? 1 : 0);
    const ids: string[] = [];
    for (let k = 0; k < deptSize; k++) {
      const reportsTo = k === 0 ? id(1) : (ids[Math.floor((k - 1) / span)] ?? id(1));
      const leads = k === 0 || k * span + 1 < deptSize;
      person(++n, reportsTo, leads ? managerRole : dept.role, dept.department);
      ids.push(id(n));
    }
  });
  return `${lines.join('\n')}\n`;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A small seeded PRNG: deterministic output without a dependency. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
