import type {
  EventDefinition,
  EventPayload,
  OrgUser,
  RegistryAgent,
  RegistryRole,
  RegistrySourceFile,
  RoleProfile,
} from '@orgmesh/contracts';
import { OutboxWriter } from '@orgmesh/messaging';
import type { Database, Sql } from '@orgmesh/persistence';
import type { AgentPresenceState } from '../presence/presence.js';
import type {
  OrgUserRow,
  PresenceRow,
  ProfileAssignmentRow,
  ProfileSignatureRow,
  RegistryVersionRow,
} from './registry.entity.js';

export const REGISTRY_SCHEMA = 'registry';
/** The registry's outbox: the events its services choose are written through it (libs/messaging). */
const outbox = new OutboxWriter(REGISTRY_SCHEMA);

/** Serialises registry loads; heartbeats take it shared so drift is judged against a committed version. */
const LOAD_LOCK = 'registry-load';
const ORG_IMPORT_LOCK = 'registry-org-import';
const VERSION_COLUMNS = 'version, source_hash, digest, files, loaded_by, loaded_at';
const PRESENCE_COLUMNS = 'agent_id, online, last_heartbeat_at, config_hash, format, drift';

export function toOrgUser(row: OrgUserRow): OrgUser {
  return {
    userId: row.user_id,
    reportsToId: row.reports_to_id,
    name: row.name,
    role: row.role,
    email: row.email,
    department: row.department,
  };
}

/** The domain's presence entry for a row; undefined for an agent never heard from. */
export function toPresenceState(row: PresenceRow | undefined): AgentPresenceState | undefined {
  if (!row?.last_heartbeat_at || !row.config_hash) return undefined;
  return {
    agentId: row.agent_id,
    online: row.online,
    lastSeenAt: row.last_heartbeat_at.getTime(),
    reportedConfigHash: row.config_hash,
    drift: row.drift,
  };
}

export interface NewVersion {
  version: number;
  sourceHash: string;
  digest: string;
  files: readonly RegistrySourceFile[];
  roles: readonly RegistryRole[];
  agents: ReadonlyArray<{ agent: RegistryAgent; profileId: string }>;
  profiles: ReadonlyArray<{ profile: RoleProfile; publishedVersion: number }>;
  /** Profiles signed and published with this version. */
  publications: ReadonlyArray<{ profile: RoleProfile; jws: string; kid: string; publishedAt: Date }>;
  /** The key that signed them (its public half is stored so consumers can verify later). */
  signingKey: { kid: string; publicJwk: unknown; origin: 'configured' | 'generated' };
  loadedBy: string;
  loadedAt: Date;
}

export interface OrgImport {
  users: ReadonlyArray<OrgUser & { depth: number }>;
  sourceHash: string;
  fileName: string | null;
  importedBy: string;
  importedAt: Date;
}

/**
 * The SQL of one open transaction. Writes and their outbox events go through the same instance, so
 * they commit (or roll back) together.
 */
export class RegistryTransaction {
  constructor(readonly sql: Sql) {}

  async currentVersion(): Promise<RegistryVersionRow | undefined> {
    const { rows } = await this.sql.query<RegistryVersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM registry.registry_versions ORDER BY version DESC LIMIT 1`,
    );
    return rows[0];
  }

  async currentVersionNumber(): Promise<number> {
    const { rows } = await this.sql.query<{ version: number }>(
      `SELECT coalesce(max(version), 0)::int AS version FROM registry.registry_versions`,
    );
    return rows[0]?.version ?? 0;
  }

  /**
   * Writes a version: its row, the signed profile publications, then the model as rows (one round
   * trip per table: the rows travel as one JSON array each).
   */
  async insertVersion(v: NewVersion, model: unknown): Promise<void> {
    await this.sql.query(
      `INSERT INTO registry.registry_versions
         (version, source_hash, digest, files, model, role_count, agent_count, profile_count, loaded_by, loaded_at)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8, $9, $10)`,
      [
        v.version,
        v.sourceHash,
        v.digest,
        JSON.stringify(v.files),
        JSON.stringify(model),
        v.roles.length,
        v.agents.length,
        v.profiles.length,
        v.loadedBy,
        v.loadedAt,
      ],
    );
    if (v.publications.length > 0) {
      await this.sql.query(
        `INSERT INTO registry.signing_keys (kid, public_jwk, origin) VALUES ($1, $2::jsonb, $3) ON CONFLICT (kid) DO NOTHING`,
        [v.signingKey.kid, JSON.stringify(v.signingKey.publicJwk), v.signingKey.origin],
      );
      await this.sql.query(
        `INSERT INTO registry.profile_versions (profile_id, version, role, definition, jws, kid, published_at)
         SELECT p.definition->>'id', $1, p.definition->>'role', p.definition, p.jws, p.kid, p.published_at
           FROM jsonb_to_recordset($2::jsonb) AS p(definition jsonb, jws text, kid text, published_at timestamptz)`,
        [
          v.version,
          JSON.stringify(
            v.publications.map((p) => ({
              definition: p.profile,
              jws: p.jws,
              kid: p.kid,
              published_at: p.publishedAt.toISOString(),
            })),
          ),
        ],
      );
    }
    await this.sql.query(
      `INSERT INTO registry.roles (version, role_id, display_name, description)
       SELECT $1, r.id, r."displayName", r.description
         FROM jsonb_to_recordset($2::jsonb) AS r(id text, "displayName" text, description text)`,
      [v.version, JSON.stringify(v.roles)],
    );
    await this.sql.query(
      `INSERT INTO registry.agents (version, agent_id, role, profile_id, definition)
       SELECT $1, a.definition->>'id', a.definition->>'role', a.profile_id, a.definition
         FROM jsonb_to_recordset($2::jsonb) AS a(profile_id text, definition jsonb)`,
      [v.version, JSON.stringify(v.agents.map((a) => ({ profile_id: a.profileId, definition: a.agent })))],
    );
    await this.sql.query(
      `INSERT INTO registry.profiles (version, profile_id, role, is_default, definition, published_version)
       SELECT $1, p.definition->>'id', p.definition->>'role', (p.definition->>'isDefault')::boolean, p.definition, p.published_version
         FROM jsonb_to_recordset($2::jsonb) AS p(published_version int, definition jsonb)`,
      [
        v.version,
        JSON.stringify(
          v.profiles.map((p) => ({ published_version: p.publishedVersion, definition: p.profile })),
        ),
      ],
    );
  }

  /** The version in which each profile of `version` was last published. */
  async publishedVersions(version: number): Promise<Map<string, number>> {
    const { rows } = await this.sql.query<{ profile_id: string; published_version: number }>(
      `SELECT profile_id, published_version FROM registry.profiles WHERE version = $1`,
      [version],
    );
    return new Map(rows.map((r) => [r.profile_id, r.published_version]));
  }

  /** Every presence entry, locked: a load re-judges drift while heartbeats wait. */
  async lockAllPresence(): Promise<PresenceRow[]> {
    const { rows } = await this.sql.query<PresenceRow>(
      `SELECT ${PRESENCE_COLUMNS} FROM registry.agent_presence ORDER BY agent_id FOR UPDATE`,
    );
    return rows;
  }

  /** The agent's presence row, locked; created (never seen) first if missing. */
  async lockPresence(agentId: string): Promise<PresenceRow> {
    await this.sql.query(
      `INSERT INTO registry.agent_presence (agent_id) VALUES ($1) ON CONFLICT (agent_id) DO NOTHING`,
      [agentId],
    );
    const { rows } = await this.sql.query<PresenceRow>(
      `SELECT ${PRESENCE_COLUMNS} FROM registry.agent_presence WHERE agent_id = $1 FOR UPDATE`,
      [agentId],
    );
    const row = rows[0];
    if (!row) throw new Error('presence row vanished under lock');
    return row;
  }

  /** Online agents silent since before `before`; rows another replica holds are skipped. */
  async lockStalePresence(before: Date, limit: number): Promise<PresenceRow[]> {
    const { rows } = await this.sql.query<PresenceRow>(
      `SELECT ${PRESENCE_COLUMNS} FROM registry.agent_presence
        WHERE online AND last_heartbeat_at < $1
        ORDER BY last_heartbeat_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [before, limit],
    );
    return rows;
  }

  async savePresence(entry: AgentPresenceState, format?: string | null): Promise<void> {
    await this.sql.query(
      `UPDATE registry.agent_presence
          SET online = $2, last_heartbeat_at = $3, config_hash = $4, drift = $5,
              format = CASE WHEN $7 THEN $6 ELSE format END, updated_at = now()
        WHERE agent_id = $1`,
      [
        entry.agentId,
        entry.online,
        new Date(entry.lastSeenAt),
        entry.reportedConfigHash,
        entry.drift,
        format ?? null,
        format !== undefined,
      ],
    );
  }

  async deletePresence(agentIds: readonly string[]): Promise<void> {
    if (agentIds.length === 0) return;
    await this.sql.query(`DELETE FROM registry.agent_presence WHERE agent_id = ANY($1::text[])`, [agentIds]);
  }

  /** The parts of an upload, in order. */
  async peekImportParts(uploadId: string): Promise<Array<{ index: number; csv: string }>> {
    const { rows } = await this.sql.query<{ part_index: number; csv: string }>(
      `SELECT part_index, csv FROM registry.org_import_parts WHERE upload_id = $1 ORDER BY part_index`,
      [uploadId],
    );
    return rows.map((r) => ({ index: r.part_index, csv: r.csv }));
  }

  /** Deletes an upload's parts, in the transaction of the import that used them. */
  async deleteImportParts(uploadId: string): Promise<void> {
    await this.sql.query(`DELETE FROM registry.org_import_parts WHERE upload_id = $1`, [uploadId]);
  }

  /**
   * Replaces the org chart: a new org version, every user in one statement, and the assignments of
   * users who are gone or changed role dropped (an assignment is only valid for the user's role).
   */
  async replaceOrg(input: OrgImport): Promise<number> {
    await this.sql.query('SELECT pg_advisory_xact_lock(hashtext($1))', [ORG_IMPORT_LOCK]);
    const inserted = await this.sql.query<{ org_version: number }>(
      `INSERT INTO registry.org_versions (user_count, source_hash, file_name, imported_by, imported_at)
       VALUES ($1, $2, $3, $4, $5) RETURNING org_version`,
      [input.users.length, input.sourceHash, input.fileName, input.importedBy, input.importedAt],
    );
    const orgVersion = inserted.rows[0]?.org_version;
    if (orgVersion === undefined) throw new Error('org version not returned');
    await this.sql.query(`DELETE FROM registry.org_users`);
    const u = input.users;
    await this.sql.query(
      `INSERT INTO registry.org_users (user_id, reports_to_id, name, role, email, department, depth, org_version)
       SELECT t.user_id, t.reports_to_id, t.name, t.role, t.email, t.department, t.depth, $8
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[])
           AS t(user_id, reports_to_id, name, role, email, department, depth)`,
      [
        u.map((x) => x.userId),
        u.map((x) => x.reportsToId),
        u.map((x) => x.name),
        u.map((x) => x.role),
        u.map((x) => x.email),
        u.map((x) => x.department),
        u.map((x) => x.depth),
        orgVersion,
      ],
    );
    await this.sql.query(
      `DELETE FROM registry.profile_assignments a
        WHERE NOT EXISTS (SELECT 1 FROM registry.org_users u WHERE u.user_id = a.user_id AND u.role = a.role)`,
    );
    return orgVersion;
  }

  /** With `lock`, the row is share-locked until the transaction ends (an import replacing it waits). */
  async findUser(userId: string, options: { lock?: boolean } = {}): Promise<OrgUser | undefined> {
    return findUser(this.sql, userId, options.lock);
  }

  async upsertAssignment(
    row: Omit<ProfileAssignmentRow, 'assigned_at'> & { assigned_at: Date },
  ): Promise<void> {
    await this.sql.query(
      `INSERT INTO registry.profile_assignments (user_id, profile_id, role, assigned_by, assigned_at)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (user_id) DO UPDATE SET profile_id = EXCLUDED.profile_id, role = EXCLUDED.role,
         assigned_by = EXCLUDED.assigned_by, assigned_at = EXCLUDED.assigned_at`,
      [row.user_id, row.profile_id, row.role, row.assigned_by, row.assigned_at],
    );
  }

  /** Adds the event a service chose to the outbox in this transaction (validated against its contract now). */
  async enqueue<E extends EventDefinition>(event: E, payload: EventPayload<E>): Promise<void> {
    await outbox.insert(this.sql, [outbox.event(event, payload)]);
  }
}

async function findUser(sql: Sql, userId: string, lock = false): Promise<OrgUser | undefined> {
  const { rows } = await sql.query<OrgUserRow>(
    `SELECT * FROM registry.org_users WHERE user_id = $1${lock ? ' FOR SHARE' : ''}`,
    [userId],
  );
  return rows[0] ? toOrgUser(rows[0]) : undefined;
}

/** All SQL of the registry service. */
export class RegistryRepository {
  constructor(private readonly db: Database) {}

  /** A write under the exclusive load lock: one registry load at a time across replicas. */
  withLoadLock<T>(work: (tx: RegistryTransaction) => Promise<T>): Promise<T> {
    return this.db.transaction(async (sql) => {
      await sql.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOAD_LOCK]);
      return work(new RegistryTransaction(sql));
    });
  }

  /** A write that must see a committed registry version that cannot change until it commits (heartbeats). */
  withSharedLoadLock<T>(work: (tx: RegistryTransaction) => Promise<T>): Promise<T> {
    return this.db.transaction(async (sql) => {
      await sql.query('SELECT pg_advisory_xact_lock_shared(hashtext($1))', [LOAD_LOCK]);
      return work(new RegistryTransaction(sql));
    });
  }

  transaction<T>(work: (tx: RegistryTransaction) => Promise<T>): Promise<T> {
    return this.db.transaction((sql) => work(new RegistryTransaction(sql)));
  }

  /** Runs a background job only on the replica that wins its advisory lock. */
  lockedJob<T>(
    name: string,
    work: (tx: RegistryTransaction) => Promise<T>,
  ): Promise<{ ran: boolean; result?: T }> {
    return this.db.withAdvisoryLock(`registry-job-${name}`, (sql) => work(new RegistryTransaction(sql)));
  }

  async currentVersionNumber(): Promise<number> {
    return new RegistryTransaction(this.db).currentVersionNumber();
  }

  async versionRow(version: number): Promise<RegistryVersionRow | undefined> {
    const { rows } = await this.db.query<RegistryVersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM registry.registry_versions WHERE version = $1`,
      [version],
    );
    return rows[0];
  }

  /** The signed publication each profile of `version` refers to. */
  async signaturesOf(version: number): Promise<ProfileSignatureRow[]> {
    const { rows } = await this.db.query<ProfileSignatureRow>(
      `SELECT pv.profile_id, pv.version, pv.jws, pv.kid
         FROM registry.profiles p
         JOIN registry.profile_versions pv ON pv.profile_id = p.profile_id AND pv.version = p.published_version
        WHERE p.version = $1`,
      [version],
    );
    return rows;
  }

  async saveSigningKey(kid: string, publicJwk: unknown, origin: 'configured' | 'generated'): Promise<void> {
    await this.db.query(
      `INSERT INTO registry.signing_keys (kid, public_jwk, origin) VALUES ($1, $2::jsonb, $3) ON CONFLICT (kid) DO NOTHING`,
      [kid, JSON.stringify(publicJwk), origin],
    );
  }

  /** The public keys consumers need: every key that signed a stored profile version, plus `alsoKid`. */
  async publicKeys(alsoKid: string): Promise<Array<Record<string, unknown>>> {
    const { rows } = await this.db.query<{ public_jwk: Record<string, unknown> }>(
      `SELECT public_jwk FROM registry.signing_keys
        WHERE kid = $1 OR kid IN (SELECT DISTINCT kid FROM registry.profile_versions)
        ORDER BY created_at, kid`,
      [alsoKid],
    );
    return rows.map((r) => r.public_jwk);
  }

  async presence(agentId: string): Promise<PresenceRow | undefined> {
    const { rows } = await this.db.query<PresenceRow>(
      `SELECT ${PRESENCE_COLUMNS} FROM registry.agent_presence WHERE agent_id = $1`,
      [agentId],
    );
    return rows[0];
  }

  async allPresence(): Promise<PresenceRow[]> {
    const { rows } = await this.db.query<PresenceRow>(
      `SELECT ${PRESENCE_COLUMNS} FROM registry.agent_presence`,
    );
    return rows;
  }

  async findUser(userId: string): Promise<OrgUser | undefined> {
    return findUser(this.db, userId);
  }

  /** The topmost user of a role (nearest the root of the chart, then by id). */
  async headOfRole(role: string): Promise<OrgUser | undefined> {
    const { rows } = await this.db.query<OrgUserRow>(
      `SELECT * FROM registry.org_users WHERE role = $1 ORDER BY depth, user_id LIMIT 1`,
      [role],
    );
    return rows[0] ? toOrgUser(rows[0]) : undefined;
  }

  /** The topmost user of a department (its name in any case), as headOfRole. */
  async headOfDepartment(department: string): Promise<OrgUser | undefined> {
    const { rows } = await this.db.query<OrgUserRow>(
      `SELECT * FROM registry.org_users WHERE lower(department) = lower($1) ORDER BY depth, user_id LIMIT 1`,
      [department],
    );
    return rows[0] ? toOrgUser(rows[0]) : undefined;
  }

  /**
   * One page of the directory: people after `after` by user id, `limit` at most, read in one
   * statement so the page and its org version belong together (an import replaces every row).
   * `more` says whether people follow.
   */
  async directoryPage(
    after: string | undefined,
    limit: number,
  ): Promise<{
    orgVersion: number;
    people: Array<{ userId: string; name: string; email: string; department: string }>;
    more: boolean;
  }> {
    const { rows } = await this.db.query<
      Pick<OrgUserRow, 'user_id' | 'name' | 'email' | 'department' | 'org_version'>
    >(
      // Two statements rather than `$1 IS NULL OR user_id > $1`: its generic plan walks the primary
      // key from the start and filters (50,000 rows read to skip to the middle page of 100k people;
      // 19 ms against 1 ms for the range scan), so paging through the org grew quadratically.
      after === undefined
        ? `SELECT user_id, name, email, department, org_version FROM registry.org_users
            ORDER BY user_id LIMIT $1`
        : `SELECT user_id, name, email, department, org_version FROM registry.org_users
            WHERE user_id > $2 ORDER BY user_id LIMIT $1`,
      after === undefined ? [limit + 1] : [limit + 1, after],
    );
    let orgVersion = rows[0]?.org_version;
    if (orgVersion === undefined) {
      const head = await this.db.query<{ org_version: number }>(
        `SELECT org_version FROM registry.org_users LIMIT 1`,
      );
      orgVersion = head.rows[0]?.org_version ?? 0;
    }
    return {
      orgVersion,
      more: rows.length > limit,
      people: rows.slice(0, limit).map((r) => ({
        userId: r.user_id,
        name: r.name,
        email: r.email,
        department: r.department,
      })),
    };
  }

  /** Keeps one part of a chunked org import (a part sent again replaces the earlier copy). */
  async saveImportPart(uploadId: string, index: number, csv: string): Promise<void> {
    await this.db.query(
      `INSERT INTO registry.org_import_parts (upload_id, part_index, csv) VALUES ($1, $2, $3)
       ON CONFLICT (upload_id, part_index) DO UPDATE SET csv = EXCLUDED.csv, received_at = now()`,
      [uploadId, index, csv],
    );
  }

  /** Drops the parts of uploads nobody completed; returns how many parts went. */
  async pruneImportParts(receivedBefore: Date): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `WITH gone AS (DELETE FROM registry.org_import_parts WHERE received_at < $1 RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [receivedBefore],
    );
    return rows[0]?.n ?? 0;
  }

  async assignment(userId: string): Promise<ProfileAssignmentRow | undefined> {
    const { rows } = await this.db.query<ProfileAssignmentRow>(
      `SELECT * FROM registry.profile_assignments WHERE user_id = $1`,
      [userId],
    );
    return rows[0];
  }
}
