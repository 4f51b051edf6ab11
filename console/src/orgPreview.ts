/** What the browser can tell about an org chart CSV before it is sent (the registry validates it fully on import). */
export interface OrgPreview {
  header: string[];
  missingColumns: string[];
  people: number;
  departments: Array<[string, number]>;
  roles: Array<[string, number]>;
  problems: string[];
  sample: string[][];
}

export const ORG_COLUMNS = ['user_id', 'reports_to_id', 'name', 'role', 'email', 'department'];

function fields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field.trim());
      field = '';
    } else field += c;
  }
  out.push(field.trim());
  return out;
}

/**
 * Reads the CSV: the columns, how many people per department and role, and the problems the
 * browser can see without the registry (missing columns, duplicate ids or emails, managers not in
 * the file). Cycles and unknown roles are the registry's to find.
 */
export function previewOrgCsv(text: string, maxProblems = 20): OrgPreview {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const header = fields(lines.shift() ?? '');
  const missingColumns = ORG_COLUMNS.filter((c) => !header.includes(c));
  const at = (name: string) => header.indexOf(name);
  const rows = lines.map(fields);
  const problems: string[] = [];
  const problem = (message: string) => {
    if (problems.length < maxProblems) problems.push(message);
  };
  const ids = new Set<string>();
  const emails = new Set<string>();
  const departments = new Map<string, number>();
  const roles = new Map<string, number>();
  rows.forEach((row, index) => {
    const line = index + 2;
    const id = row[at('user_id')] ?? '';
    if (!id) problem(`line ${line}: no user_id`);
    else if (ids.has(id)) problem(`line ${line}: user_id ${id} appears twice`);
    ids.add(id);
    const email = (row[at('email')] ?? '').toLowerCase();
    if (email && emails.has(email)) problem(`line ${line}: email ${email} appears twice`);
    if (email) emails.add(email);
    const department = row[at('department')] ?? '';
    departments.set(department, (departments.get(department) ?? 0) + 1);
    const role = row[at('role')] ?? '';
    roles.set(role, (roles.get(role) ?? 0) + 1);
    if (row.length !== header.length)
      problem(`line ${line}: ${row.length} fields, the header has ${header.length}`);
  });
  rows.forEach((row, index) => {
    const manager = row[at('reports_to_id')] ?? '';
    if (manager && !ids.has(manager))
      problem(`line ${index + 2}: reports_to_id ${manager} is not in the file`);
  });
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    header,
    missingColumns,
    people: rows.length,
    departments: sorted(departments),
    roles: sorted(roles),
    problems,
    sample: rows.slice(0, 5),
  };
}
