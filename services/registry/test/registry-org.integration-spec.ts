import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import {
  AssignProfile,
  GetDepartmentHead,
  GetDirectory,
  GetManager,
  ImportOrg,
  OrgImported,
  type RegistryProblem,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { expectEventually, type TestContext } from '@orgmesh/testing';
import type { RegistryApp } from '../src/registry.app.js';
import { generateOrgChart } from '../src/org/org-chart.generator.js';
import { DEMO_ORG_CHART } from './demo-registry.js';
import {
  clientBus,
  createTestContext,
  EventRecorder,
  rpcError,
  startTestRegistry,
} from './registry-harness.js';

/** The sample with one line replaced; fails loudly if the line is not there. */
function editLine(csv: string, from: string, to: string): string {
  if (!csv.includes(from)) throw new Error(`sample has no "${from}"`);
  return csv.replace(from, to);
}

describe('org chart import, manager lookup, directory and profile assignment', () => {
  let ctx: TestContext;
  let app: RegistryApp;
  let bus: MessageBus;
  let events: EventRecorder;
  let sample: string;

  /** Everything an import writes: a refused import must leave all of it as it was. */
  async function orgState(): Promise<unknown> {
    const [versions, users, assignments, outbox] = await Promise.all([
      app.db.query(`SELECT org_version, user_count FROM registry.org_versions ORDER BY org_version`),
      app.db.query(`SELECT * FROM registry.org_users ORDER BY user_id`),
      app.db.query(`SELECT user_id, profile_id FROM registry.profile_assignments ORDER BY user_id`),
      app.db.query(`SELECT count(*)::int AS n FROM registry.outbox WHERE subject = $1`, [
        OrgImported.subject,
      ]),
    ]);
    return { versions: versions.rows, users: users.rows, assignments: assignments.rows, outbox: outbox.rows };
  }

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await startTestRegistry(ctx);
    bus = await clientBus(ctx);
    events = await EventRecorder.start(bus, [OrgImported]);
    sample = await readFile(DEMO_ORG_CHART, 'utf8');
  });

  afterAll(async () => {
    await events?.stop();
    await bus?.close();
    await app?.close();
    await ctx?.dispose();
  });

  it('imports the sample org chart and announces it through the outbox, with counts only', async () => {
    const result = await bus.request(
      ImportOrg,
      { csv: sample, fileName: 'org-chart.csv' },
      { timeoutMs: 30_000 },
    );
    expect(result).toMatchObject({ orgVersion: 1, users: 60 });
    await expectEventually(() =>
      expect(events.of(OrgImported)).toEqual([
        expect.objectContaining({ orgVersion: 1, users: 60, importedBy: 'unchecked' }),
      ]),
    );
    expect(Object.keys(events.of(OrgImported)[0] ?? {}).sort()).toEqual([
      'importedBy',
      'occurredAt',
      'orgVersion',
      'users',
    ]);

    const directory = await bus.request(GetDirectory, {});
    expect(directory.orgVersion).toBe(1);
    expect(directory.people).toHaveLength(60);
    expect(directory.people).toContainEqual({
      userId: 'u00004',
      name: 'Julia Fischer',
      email: 'julia.fischer@example.com',
      department: 'Finance',
    });
  });

  it("answers a user's manager from the org chart, null at the top, user_not_found for a stranger", async () => {
    const { user, manager } = await bus.request(GetManager, { userId: 'u00004' });
    expect(user).toEqual({
      userId: 'u00004',
      reportsToId: 'u00002',
      name: 'Julia Fischer',
      role: 'finance',
      email: 'julia.fischer@example.com',
      department: 'Finance',
    });
    expect(manager).toMatchObject({ userId: 'u00002', name: 'Yara Quinn', role: 'manager' });
    expect((await bus.request(GetManager, { userId: 'u00001' })).manager).toBeNull();
    expect((await rpcError(bus.request(GetManager, { userId: 'u99999' }))).code).toBe('user_not_found');
  });

  it('resolves a role id or an agent id to the head of that role, for escalations addressed to roles', async () => {
    const byRole = await bus.request(GetManager, { userId: 'legal' });
    expect(byRole.user).toMatchObject({ userId: 'u00016', role: 'legal' });
    expect(byRole.manager).toMatchObject({ userId: 'u00014', name: 'Leon Schmidt' });
    expect(await bus.request(GetManager, { userId: 'legal-agent' })).toEqual(byRole);
  });

  it('answers the head of a department anywhere in the chart (its topmost person), ids only; not_found naming a department nobody is in', async () => {
    // Hana Jensen heads Human Resources under Ada Bauer (Executive): found by name in any case.
    expect(await bus.request(GetDepartmentHead, { department: 'human RESOURCES' })).toEqual({
      department: 'Human Resources',
      userId: 'u00026',
      role: 'manager',
    });
    expect(await bus.request(GetDepartmentHead, { department: 'Executive' })).toEqual({
      department: 'Executive',
      userId: 'u00001',
      role: 'manager',
    });
    const none = await rpcError(bus.request(GetDepartmentHead, { department: 'Procurement' }));
    expect(none.code).toBe('not_found');
    expect(none.details).toEqual({ department: 'Procurement' });
    expect(none.message).toContain('"Procurement"');
  });

  const BAD_CHARTS: ReadonlyArray<
    [name: string, edit: (csv: string) => string, problem: Partial<RegistryProblem>]
  > = [
    [
      'a reporting cycle',
      (csv) => editLine(csv, 'u00001,,Ada Bauer', 'u00001,u00014,Ada Bauer'),
      { path: 'line 2.reports_to_id', reason: 'reporting cycle u00001 → u00014 → u00001 (lines 2, 15)' },
    ],
    [
      'an unknown role',
      (csv) => editLine(csv, 'u00005,u00002,Leon Santos,finance', 'u00005,u00002,Leon Santos,marketing'),
      {
        path: 'line 6.role',
        reason: expect.stringContaining('unknown role "marketing"') as unknown as string,
      },
    ],
    [
      'an unknown manager',
      (csv) => editLine(csv, 'u00005,u00002,', 'u00005,u09999,'),
      { path: 'line 6.reports_to_id', reason: 'unknown manager "u09999"' },
    ],
    [
      'a duplicate email differing only in case',
      (csv) => editLine(csv, 'leon.santos@example.com', 'JULIA.Fischer@Example.com'),
      {
        path: 'line 6.email',
        reason: 'duplicate email "JULIA.Fischer@Example.com" (same as line 5, case-insensitive)',
      },
    ],
  ];

  it.each(BAD_CHARTS)('refuses %s, naming the row, and writes nothing', async (_name, edit, problem) => {
    await bus.request(AssignProfile, { userId: 'u00040', profileId: 'engineering-contractor' });
    const before = await orgState();
    const error = await rpcError(bus.request(ImportOrg, { csv: edit(sample), fileName: 'bad.csv' }));
    expect(error.code).toBe('validation_failed');
    expect(error.details?.['problems']).toEqual([expect.objectContaining({ file: 'bad.csv', ...problem })]);
    expect(error.message).toContain(`bad.csv: ${problem.path}`);
    expect(await orgState()).toEqual(before);
  });

  it('assigns a profile of the user’s role, and refuses another role’s profile, unknown profiles and users', async () => {
    const assigned = await bus.request(AssignProfile, {
      userId: 'u00041',
      profileId: 'engineering-contractor',
    });
    expect(assigned).toMatchObject({
      userId: 'u00041',
      profileId: 'engineering-contractor',
      assignedBy: 'unchecked',
    });
    const { rows } = await app.db.query(
      `SELECT profile_id, role, assigned_by FROM registry.profile_assignments WHERE user_id = 'u00041'`,
    );
    expect(rows).toEqual([
      { profile_id: 'engineering-contractor', role: 'engineering', assigned_by: 'unchecked' },
    ]);

    const wrongRole = await rpcError(bus.request(AssignProfile, { userId: 'u00041', profileId: 'finance' }));
    expect(wrongRole.code).toBe('validation_failed');
    expect(wrongRole.message).toBe(
      'profile "finance" is for role "finance"; user "u00041" has role "engineering"',
    );
    expect(
      (await rpcError(bus.request(AssignProfile, { userId: 'u00041', profileId: 'no-such-profile' }))).code,
    ).toBe('profile_not_found');
    expect(
      (await rpcError(bus.request(AssignProfile, { userId: 'u99999', profileId: 'engineering' }))).code,
    ).toBe('user_not_found');
    const after = await app.db.query(
      `SELECT profile_id FROM registry.profile_assignments WHERE user_id = 'u00041'`,
    );
    expect(after.rows).toEqual([{ profile_id: 'engineering-contractor' }]);
  });

  it('replaces the whole org on the next import, dropping assignments of users who left or changed role', async () => {
    // u00040 leaves; u00041 becomes sales (their engineering profile no longer fits).
    const next = editLine(
      editLine(sample, 'u00040,u00038,Kenji Ito,engineering,kenji.ito@example.com,Engineering\n', ''),
      'u00041,u00038,Omar Moreau,engineering',
      'u00041,u00038,Omar Moreau,sales',
    );
    const result = await bus.request(ImportOrg, { csv: next });
    expect(result).toMatchObject({ orgVersion: expect.any(Number), users: 59 });
    const directory = await bus.request(GetDirectory, {});
    expect(directory.people).toHaveLength(59);
    expect(directory.orgVersion).toBe(result.orgVersion);
    expect((await rpcError(bus.request(GetManager, { userId: 'u00040' }))).code).toBe('user_not_found');
    const { rows } = await app.db.query(`SELECT user_id FROM registry.profile_assignments ORDER BY user_id`);
    expect(rows).toEqual([]);
  });

  it('imports a 10,000-person org chart in one transaction', async () => {
    const csv = generateOrgChart({ size: 10_000, seed: 7 });
    const result = await bus.request(ImportOrg, { csv }, { timeoutMs: 30_000 });
    expect(result.users).toBe(10_000);
    // 10,000 people do not fit one page (512 KiB): the directory comes in pages of one org version.
    const first = await bus.request(GetDirectory, {}, { timeoutMs: 30_000 });
    expect(first.people.length).toBeLessThan(10_000);
    const people = [...first.people];
    for (let page = first; page.nextAfter !== undefined;) {
      page = await bus.request(GetDirectory, { after: page.nextAfter }, { timeoutMs: 30_000 });
      expect(page.orgVersion).toBe(first.orgVersion);
      people.push(...page.people);
    }
    expect(people).toHaveLength(10_000);
    expect(new Set(people.map((p) => p.userId)).size).toBe(10_000);
    const { rows } = await app.db.query<{ n: number; roots: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE reports_to_id IS NULL)::int AS roots FROM registry.org_users`,
    );
    expect(rows[0]?.n).toBe(10_000);
    expect(rows[0]?.roots).toBeGreaterThanOrEqual(1);
  });
});
