import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsv } from '@orgmesh/contracts';

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

/**
 * The people of a registry directory's `org-chart.csv` (`user_id,reports_to_id,name,role,email,department`),
 * the same file the registry loads, read with the registry's CSV parser. Lines without a user id are
 * skipped and a file that is not valid CSV gives no one; the registry validates the chart itself (a
 * person it refuses cannot do anything after signing in anyway).
 */
export function readOrgChartPeople(registryDir: string): DevPerson[] {
  const file = join(registryDir, 'org-chart.csv');
  if (!existsSync(file)) return [];
  const parsed = parseCsv(readFileSync(file, 'utf8'));
  if (!parsed.ok) return [];
  const [head, ...records] = parsed.records.map((r) => r.fields.map((f) => f.trim()));
  const at = (name: string) => head?.indexOf(name);
  const [id, name, email, department] = ['user_id', 'name', 'email', 'department'].map(at);
  if (id === undefined || id < 0) return [];
  const people: DevPerson[] = [];
  const seen = new Set<string>();
  for (const fields of records) {
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
