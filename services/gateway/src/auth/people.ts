import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A person of the org chart who may sign in to the console (dev issuer only). */
export interface DevPerson {
  /** The directory user id (`u00004`): the token's `sub`. */
  id: string;
  name: string;
  email: string;
  department: string;
  /**
   * The dev operator account (not an org-chart person): its token is an admin's, so the console's
   * operator pages (sessions, agents, admin) can be used in `npm start`, where no OpenID provider
   * issues operators their tokens.
   */
  operator?: true;
}

/** The user id of the dev operator account. */
export const DEV_OPERATOR_ID = 'operator';

export const DEV_OPERATOR: DevPerson = {
  id: DEV_OPERATOR_ID,
  name: 'Operator (admin, dev issuer only)',
  email: '',
  department: 'orgmesh',
  operator: true,
};

/** Splits one CSV line (RFC 4180 quoting: `"a, b"`, `""` for a quote). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
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
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields.map((f) => f.trim());
}

/**
 * The people of a registry directory's `org-chart.csv` (`user_id,reports_to_id,name,role,email,department`),
 * the same file the registry loads. Lines without a user id are skipped; the registry validates the
 * chart itself (a person it refuses cannot do anything after signing in anyway).
 */
export function readOrgChartPeople(registryDir: string): DevPerson[] {
  const file = join(registryDir, 'org-chart.csv');
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim());
  const header = csvFields(lines.shift() ?? '');
  const at = (name: string) => header.indexOf(name);
  const [id, name, email, department] = ['user_id', 'name', 'email', 'department'].map(at);
  if (id === undefined || id < 0) return [];
  const people: DevPerson[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const fields = csvFields(line);
    const userId = fields[id] ?? '';
    if (!userId || seen.has(userId)) continue;
    seen.add(userId);
    const field = (index: number | undefined) =>
      index !== undefined && index >= 0 ? (fields[index] ?? '') : '';
    people.push({ id: userId, name: field(name), email: field(email), department: field(department) });
  }
  return people;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The dev passwords of the org chart's people: random at every start (never a documented value:
 * a person's token decides approvals), printed once at startup like the dev client secrets, kept in
 * memory as SHA-256 digests and compared in constant time.
 */
export class DevPeople {
  private readonly byId = new Map<string, { person: DevPerson; digest: Buffer }>();
  private readonly byEmail = new Map<string, string>();
  private readonly printable: Array<{ person: DevPerson; password: string }> = [];

  constructor(people: readonly DevPerson[], passwords?: ReadonlyMap<string, string>) {
    for (const person of people) {
      const password = passwords?.get(person.id) ?? randomBytes(9).toString('base64url');
      this.byId.set(person.id, { person, digest: digest(password) });
      if (person.email) this.byEmail.set(person.email.toLowerCase(), person.id);
      this.printable.push({ person, password });
    }
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): DevPerson | undefined {
    return this.byId.get(id)?.person;
  }

  /** The person whose user id or email this is and whose password matches, else undefined. */
  authenticate(login: string, password: string): DevPerson | undefined {
    const trimmed = login.trim();
    const id = this.byId.has(trimmed) ? trimmed : this.byEmail.get(trimmed.toLowerCase());
    const entry = id === undefined ? undefined : this.byId.get(id);
    // Compared even for an unknown login, so the time taken does not tell which logins exist.
    const ok = timingSafeEqual(entry?.digest ?? digest(''), digest(password));
    return ok && entry && password ? entry.person : undefined;
  }

  /** The startup lines (user id, name, password) for the operator's terminal, never the logs. */
  credentialLines(): string[] {
    return this.printable.map(
      ({ person, password }) =>
        `  ${person.id.padEnd(10)} ${password.padEnd(14)} ${person.name} (${person.department})`,
    );
  }
}
