import { AppError, parseCsv, type CsvRecord, type OrgUser } from '@orgmesh/contracts';
import { compare, ROOT_PATH, type Problem } from '../loader/problem.js';

export const ORG_CHART_COLUMNS = ['user_id', 'reports_to_id', 'name', 'role', 'email', 'department'] as const;
type Column = (typeof ORG_CHART_COLUMNS)[number];

export type OrgChartValidation = { ok: true; users: OrgUser[] } | { ok: false; problems: Problem[] };

const EMAIL = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/;

/** Reports a problem on a line (and column) of the file. */
type At = (line: number, column: Column | null, reason: string) => void;
type LinedUser = OrgUser & { line: number };

/**
 * Parses and validates an org chart CSV (`user_id,reports_to_id,name,role,email,department`, columns in
 * any order). All-or-nothing: every user, or every problem, each naming its line. Refuses unknown roles,
 * unknown managers, duplicate user ids, duplicate emails (case-insensitive) and reporting cycles.
 */
export function validateOrgChart(
  csv: string,
  options: { knownRoles: ReadonlySet<string>; file?: string },
): OrgChartValidation {
  const file = options.file ?? 'org-chart.csv';
  const problems: Problem[] = [];
  const at = (line: number, column: Column | null, reason: string): void => {
    problems.push({ file, path: column ? `line ${line}.${column}` : `line ${line}`, reason, line });
  };

  const parsed = parseCsv(csv);
  if (!parsed.ok)
    return {
      ok: false,
      problems: [
        { file, path: `line ${parsed.line}`, reason: `invalid CSV: ${parsed.reason}`, line: parsed.line },
      ],
    };
  const [header, ...rows] = parsed.records;
  if (!header)
    return {
      ok: false,
      problems: [
        { file, path: ROOT_PATH, reason: `empty file: expected the header ${ORG_CHART_COLUMNS.join(',')}` },
      ],
    };

  const index = columnIndex(header, at);
  if (problems.length > 0) return { ok: false, problems };
  if (rows.length === 0)
    return {
      ok: false,
      problems: [{ file, path: ROOT_PATH, reason: 'no users: the file holds only a header' }],
    };

  const { users, lineOfUser } = readUsers(rows, header.fields.length, index, options.knownRoles, at);
  for (const user of users) {
    if (user.reportsToId !== null && !lineOfUser.has(user.reportsToId)) {
      at(user.line, 'reports_to_id', `unknown manager "${user.reportsToId}"`);
    }
  }
  problems.push(...findCycles(users, file));
  if (problems.length > 0) return { ok: false, problems: sortByLine(problems) };
  return { ok: true, users: users.map(({ line: _line, ...user }) => user) };
}

/** The position of each column in the header; unknown, duplicate and missing columns are reported. */
function columnIndex(header: CsvRecord, at: At): Map<string, number> {
  const index = new Map<string, number>();
  header.fields.forEach((field, i) => {
    const name = field.trim().toLowerCase();
    if (!(ORG_CHART_COLUMNS as readonly string[]).includes(name))
      at(header.line, null, `unknown column "${name}"`);
    else if (index.has(name)) at(header.line, null, `duplicate column "${name}"`);
    else index.set(name, i);
  });
  for (const column of ORG_CHART_COLUMNS)
    if (!index.has(column)) at(header.line, null, `missing column "${column}"`);
  return index;
}

/**
 * The users of the rows that pass every check (each problem reported at its line and column), and
 * the line of every user id (a refused row's too, so its reports are not "unknown manager").
 */
function readUsers(
  rows: readonly CsvRecord[],
  columns: number,
  index: ReadonlyMap<string, number>,
  knownRoles: ReadonlySet<string>,
  at: At,
): { users: LinedUser[]; lineOfUser: Map<string, number> } {
  const users: LinedUser[] = [];
  const lineOfUser = new Map<string, number>();
  const lineOfEmail = new Map<string, number>();
  for (const row of rows) {
    if (row.fields.length !== columns) {
      at(row.line, null, `expected ${columns} fields, found ${row.fields.length}`);
      continue;
    }
    const get = (column: Column): string => (row.fields[index.get(column) ?? -1] ?? '').trim();
    const user = {
      line: row.line,
      userId: get('user_id'),
      reportsToId: get('reports_to_id') || null,
      name: get('name'),
      role: get('role'),
      email: get('email'),
      department: get('department'),
    };
    let valid = true;
    for (const column of ['user_id', 'name', 'role', 'email', 'department'] as const) {
      if (!get(column)) {
        at(row.line, column, 'required');
        valid = false;
      }
    }
    if (user.userId) {
      const first = lineOfUser.get(user.userId);
      if (first !== undefined) {
        at(row.line, 'user_id', `duplicate user_id "${user.userId}" (first on line ${first})`);
        valid = false;
      } else lineOfUser.set(user.userId, row.line);
    }
    if (user.role && !knownRoles.has(user.role)) {
      at(
        row.line,
        'role',
        `unknown role "${user.role}" (known: ${[...knownRoles].sort(compare).join(', ')})`,
      );
      valid = false;
    }
    if (user.email) {
      const key = user.email.toLowerCase();
      const first = lineOfEmail.get(key);
      if (!EMAIL.test(user.email)) {
        at(row.line, 'email', `"${user.email}" is not an email address`);
        valid = false;
      } else if (first !== undefined) {
        at(row.line, 'email', `duplicate email "${user.email}" (same as line ${first}, case-insensitive)`);
        valid = false;
      } else lineOfEmail.set(key, row.line);
    }
    if (valid) users.push(user);
  }
  return { users, lineOfUser };
}

/** Every reporting cycle once, reported at its first line, listing the users and lines in it. */
function findCycles(users: ReadonlyArray<OrgUser & { line: number }>, file: string): Problem[] {
  const byId = new Map(users.map((u) => [u.userId, u]));
  const state = new Map<string, 'visiting' | 'done'>();
  const problems: Problem[] = [];
  for (const start of users) {
    if (state.has(start.userId)) continue;
    const path: string[] = [];
    let current: (OrgUser & { line: number }) | undefined = start;
    while (current && !state.has(current.userId)) {
      state.set(current.userId, 'visiting');
      path.push(current.userId);
      current = current.reportsToId ? byId.get(current.reportsToId) : undefined;
    }
    if (current && state.get(current.userId) === 'visiting') {
      const cycle = path.slice(path.indexOf(current.userId));
      const lines = cycle.map((id) => byId.get(id)?.line ?? 0);
      const first = Math.min(...lines);
      problems.push({
        file,
        path: `line ${first}.reports_to_id`,
        reason:
          cycle.length === 1
            ? `user "${cycle[0]}" reports to itself`
            : `reporting cycle ${[...cycle, cycle[0]].join(' → ')} (lines ${[...lines].sort((a, b) => a - b).join(', ')})`,
        line: first,
      });
    }
    for (const id of path) state.set(id, 'done');
  }
  return problems;
}

function sortByLine(problems: Problem[]): Problem[] {
  return problems.sort(
    (a, b) => (a.line ?? 0) - (b.line ?? 0) || compare(a.path, b.path) || compare(a.reason, b.reason),
  );
}

/** Lookups over an imported org chart. */
export class OrgDirectory {
  private readonly byId: ReadonlyMap<string, OrgUser>;

  constructor(readonly users: readonly OrgUser[]) {
    this.byId = new Map(users.map((u) => [u.userId, u]));
  }

  get(userId: string): OrgUser {
    const user = this.byId.get(userId);
    if (!user) throw new AppError('user_not_found', `unknown user "${userId}"`);
    return user;
  }

  /** A user's manager, or null at the top. Unknown user → user_not_found. */
  managerOf(userId: string): { user: OrgUser; manager: OrgUser | null } {
    const user = this.get(userId);
    return { user, manager: user.reportsToId ? (this.byId.get(user.reportsToId) ?? null) : null };
  }

  /** The chain of managers above a user, nearest first (escalation order). */
  chainOf(userId: string): OrgUser[] {
    const chain: OrgUser[] = [];
    let next = this.get(userId).reportsToId;
    // A validated chart has no cycles; the bound only guards a hand-built directory.
    while (next && chain.length < this.users.length) {
      const manager = this.byId.get(next);
      if (!manager) break;
      chain.push(manager);
      next = manager.reportsToId;
    }
    return chain;
  }
}
