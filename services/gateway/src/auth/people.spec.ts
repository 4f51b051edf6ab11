import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { findDemoRegistryDir } from './dev-clients.js';
import { DevPeople, readOrgChartPeople } from './people.js';

describe('the people of the org chart (dev sign-in)', () => {
  it('are read from the demo registry org-chart.csv', () => {
    const people = readOrgChartPeople(findDemoRegistryDir() as string);
    expect(people.length).toBe(60);
    expect(people[0]).toEqual({
      id: 'u00001',
      name: 'Ada Bauer',
      email: 'ada.bauer@example.com',
      department: 'Executive',
    });
  });

  it('parse quoted fields and skip duplicate or empty ids', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orgmesh-people-'));
    writeFileSync(
      join(dir, 'org-chart.csv'),
      'user_id,reports_to_id,name,role,email,department\nu1,,"Doe, Jane ""JD""",finance,j@x.test,Finance\nu1,,Dup,finance,d@x.test,F\n,,No Id,finance,n@x.test,F\n',
    );
    expect(readOrgChartPeople(dir)).toEqual([
      { id: 'u1', name: 'Doe, Jane "JD"', email: 'j@x.test', department: 'Finance' },
    ]);
    expect(readOrgChartPeople(join(dir, 'missing'))).toEqual([]);
  });

  it('get a random password each, checked by user id or email, never an empty one', () => {
    const people = [
      { id: 'u1', name: 'A', email: 'A@x.test', department: 'F' },
      { id: 'u2', name: 'B', email: 'b@x.test', department: 'F' },
    ];
    const fixed = new DevPeople(people, new Map([['u1', 'secret-one']]));
    expect(fixed.authenticate('u1', 'secret-one')?.id).toBe('u1');
    expect(fixed.authenticate(' a@X.test ', 'secret-one')?.id).toBe('u1');
    expect(fixed.authenticate('u1', 'secret-two')).toBeUndefined();
    expect(fixed.authenticate('u9', '')).toBeUndefined();
    expect(fixed.authenticate('', '')).toBeUndefined();
    const a = new DevPeople(people).credentialLines();
    const b = new DevPeople(people).credentialLines();
    expect(a).toHaveLength(2);
    expect(a[1]).toMatch(/^ {2}u2 +\S{12} +B \(F\)$/);
    // Random per start: two starts print different passwords.
    expect(a).not.toEqual(b);
  });
});
