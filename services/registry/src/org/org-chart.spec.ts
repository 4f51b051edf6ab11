import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { DEMO_ORG_CHART } from '../../test/demo-registry.js';
import { formatProblem } from '../loader/problem.js';
import { generateOrgChart } from './org-chart.generator.js';
import { OrgDirectory, validateOrgChart } from './org-chart.js';

const ROLES = new Set(['finance', 'manager', 'legal', 'hr', 'engineering', 'sales']);
const HEADER = 'user_id,reports_to_id,name,role,email,department';

function problems(csv: string): string[] {
  const result = validateOrgChart(csv, { knownRoles: ROLES, file: 'org.csv' });
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe('the sample org chart', () => {
  it('is accepted: at least 50 people, every demo role, one person at the top', async () => {
    const result = validateOrgChart(await readFile(DEMO_ORG_CHART, 'utf8'), { knownRoles: ROLES });
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.users.length).toBeGreaterThanOrEqual(50);
    expect(new Set(result.users.map((u) => u.role))).toEqual(ROLES);
    expect(result.users.filter((u) => u.reportsToId === null)).toHaveLength(1);
    expect(result.users.every((u) => u.email.endsWith('@example.com'))).toBe(true);
  });
});

describe('bad org charts are refused, naming the lines', () => {
  it('refuses a reporting cycle', () => {
    const csv = `${HEADER}
u1,,Ada Bauer,manager,ada@example.com,Executive
u2,u4,Ben Cole,finance,ben@example.com,Finance
u3,u2,Cleo Diaz,finance,cleo@example.com,Finance
u4,u3,Dan Eck,manager,dan@example.com,Finance
`;
    expect(problems(csv)).toEqual([
      'org.csv: line 3.reports_to_id: reporting cycle u2 → u4 → u3 → u2 (lines 3, 4, 5)',
    ]);
  });

  it('refuses someone reporting to themselves', () => {
    expect(problems(`${HEADER}\nu1,u1,Ada Bauer,manager,ada@example.com,Executive\n`)).toEqual([
      'org.csv: line 2.reports_to_id: user "u1" reports to itself',
    ]);
  });

  it('refuses an unknown role', () => {
    expect(
      problems(
        `${HEADER}\nu1,,Ada Bauer,manager,ada@example.com,Executive\nu2,u1,Ben Cole,marketing,ben@example.com,Marketing\n`,
      ),
    ).toEqual([
      'org.csv: line 3.role: unknown role "marketing" (known: engineering, finance, hr, legal, manager, sales)',
    ]);
  });

  it('refuses an unknown manager', () => {
    expect(
      problems(
        `${HEADER}\nu1,,Ada Bauer,manager,ada@example.com,Executive\nu2,u9,Ben Cole,finance,ben@example.com,Finance\n`,
      ),
    ).toEqual(['org.csv: line 3.reports_to_id: unknown manager "u9"']);
  });

  it('refuses duplicate emails, case-insensitively, and duplicate user ids', () => {
    const csv = `${HEADER}
u1,,Ada Bauer,manager,ada@example.com,Executive
u2,u1,Ada Bauer,finance,ADA@Example.com,Finance
u2,u1,Ben Cole,finance,ben@example.com,Finance
`;
    expect(problems(csv)).toEqual([
      'org.csv: line 3.email: duplicate email "ADA@Example.com" (same as line 2, case-insensitive)',
      'org.csv: line 4.user_id: duplicate user_id "u2" (first on line 3)',
    ]);
  });

  it('refuses missing values, malformed emails and rows of the wrong width', () => {
    const csv = `${HEADER}
u1,,Ada Bauer,manager,ada@example.com,Executive
u2,u1,,finance,not-an-email,Finance
u3,u1,Cleo Diaz,finance
`;
    expect(problems(csv)).toEqual([
      'org.csv: line 3.email: "not-an-email" is not an email address',
      'org.csv: line 3.name: required',
      'org.csv: line 4: expected 6 fields, found 4',
    ]);
  });

  it('refuses a wrong header, an empty file and a file with only a header', () => {
    expect(problems('user_id,manager,name,role,email,department\n')).toEqual([
      'org.csv: line 1: unknown column "manager"',
      'org.csv: line 1: missing column "reports_to_id"',
    ]);
    expect(problems('')).toEqual([
      'org.csv: (root): empty file: expected the header user_id,reports_to_id,name,role,email,department',
    ]);
    expect(problems(`${HEADER}\n`)).toEqual(['org.csv: (root): no users: the file holds only a header']);
  });

  it('refuses broken quoting with its line', () => {
    expect(problems(`${HEADER}\nu1,,"Ada Bauer,manager,ada@example.com,Executive\n`)).toEqual([
      'org.csv: line 2: invalid CSV: unterminated quoted field',
    ]);
    expect(problems(`${HEADER}\nu1,,"Ada" Bauer,manager,ada@example.com,Executive\n`)).toEqual([
      'org.csv: line 2: invalid CSV: text after a closing quote',
    ]);
  });

  it('reports every problem of the file at once, sorted by line', () => {
    const csv = `${HEADER}
u1,u9,Ada Bauer,manager,ada@example.com,Executive
u2,u1,Ben Cole,sales-eng,ben@example.com,Sales
u3,u1,Cleo Diaz,legal,ada@EXAMPLE.com,Legal
`;
    expect(problems(csv)).toEqual([
      'org.csv: line 2.reports_to_id: unknown manager "u9"',
      'org.csv: line 3.role: unknown role "sales-eng" (known: engineering, finance, hr, legal, manager, sales)',
      'org.csv: line 4.email: duplicate email "ada@EXAMPLE.com" (same as line 2, case-insensitive)',
    ]);
  });
});

describe('CSV dialect', () => {
  it('accepts quoted fields with commas, quotes and line breaks, CRLF, a BOM, any column order and blank lines', () => {
    const csv =
      '\ufeffemail,name,user_id,reports_to_id,role,department\r\n' +
      'ada@example.com,"Bauer, Ada",u1,,manager,Executive\r\n\r\n' +
      'ben@example.com,"Ben ""B"" Cole",u2,u1,finance,"Finance\nand Treasury"\r\n';
    const result = validateOrgChart(csv, { knownRoles: ROLES });
    expect(result).toEqual({
      ok: true,
      users: [
        {
          userId: 'u1',
          reportsToId: null,
          name: 'Bauer, Ada',
          role: 'manager',
          email: 'ada@example.com',
          department: 'Executive',
        },
        {
          userId: 'u2',
          reportsToId: 'u1',
          name: 'Ben "B" Cole',
          role: 'finance',
          email: 'ben@example.com',
          department: 'Finance\nand Treasury',
        },
      ],
    });
  });
});

describe('generated org charts', () => {
  it('produces a valid, deterministic 10,000-person chart, at most 6 levels deep', () => {
    const csv = generateOrgChart({ size: 10_000, seed: 1 });
    expect(generateOrgChart({ size: 10_000, seed: 1 })).toBe(csv);
    const result = validateOrgChart(csv, { knownRoles: ROLES });
    if (!result.ok) throw new Error(result.problems.slice(0, 5).map(formatProblem).join('\n'));
    expect(result.users).toHaveLength(10_000);
    const directory = new OrgDirectory(result.users);
    const depth = Math.max(...result.users.map((u) => directory.chainOf(u.userId).length));
    expect(depth).toBeLessThanOrEqual(6);
  });
});

describe('OrgDirectory', () => {
  const result = validateOrgChart(generateOrgChart({ size: 60, seed: 7 }), { knownRoles: ROLES });
  if (!result.ok) throw new Error('generated chart invalid');
  const directory = new OrgDirectory(result.users);

  it("finds a user's manager, and none at the top", () => {
    const someone = result.users.find((u) => u.role === 'finance');
    if (!someone?.reportsToId) throw new Error('no finance user with a manager');
    expect(directory.managerOf(someone.userId).manager?.userId).toBe(someone.reportsToId);
    expect(directory.managerOf('u00001').manager).toBeNull();
  });

  it('lists the escalation chain up to the top', () => {
    const chain = directory.chainOf('u00060');
    expect(chain.at(-1)?.userId).toBe('u00001');
    expect(chain.every((m) => m.role === 'manager')).toBe(true);
  });

  it('answers user_not_found for an unknown user', () => {
    expect(() => directory.managerOf('nobody')).toThrow(expect.objectContaining({ code: 'user_not_found' }));
  });
});
