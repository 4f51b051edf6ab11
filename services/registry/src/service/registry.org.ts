import { createHash } from 'node:crypto';
import {
  AppError,
  DIRECTORY_PAGE_MAX_BYTES,
  DIRECTORY_PAGE_MAX_PEOPLE,
  OrgImported,
  type AssignProfile,
  type GetDepartmentHead,
  type GetDirectory,
  type GetManager,
  type ImportOrg,
  type ImportOrgPart,
  type OrgUser,
  type RpcRequest,
  type RpcResponse,
} from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import { checkProfileAssignment } from '../model/profile-assignment.js';
import { findAgent } from '../model/registry.model.js';
import { validateOrgChart } from '../org/org-chart.js';
import type { RegistryRepository } from '../persistence/registry.repository.js';
import { orgChartRefused } from './registry.errors.js';
import type { Clock, RegistryVersions } from './registry.versions.js';

/**
 * Parts of a chunked org import older than this are dropped when the next upload starts, and by the
 * retention job (registry.app.ts) when none does.
 */
export const ORG_IMPORT_PART_TTL_MS = 3_600_000;

/** The org chart: the directory, managers, chart imports (whole or chunked) and profile assignments. */
export class RegistryOrg {
  constructor(
    private readonly repository: RegistryRepository,
    private readonly versions: RegistryVersions,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /**
   * One page of the directory (ADR 0013): up to `limit` people after `after`, cut earlier at
   * DIRECTORY_PAGE_MAX_BYTES of people so that the answer stays one NATS message at any org size.
   */
  async directory(request: RpcRequest<typeof GetDirectory> = {}): Promise<RpcResponse<typeof GetDirectory>> {
    const snapshot = this.versions.require();
    const limit = request.limit ?? DIRECTORY_PAGE_MAX_PEOPLE;
    const page = await this.repository.directoryPage(request.after, limit);
    let bytes = 0;
    let kept = 0;
    for (const person of page.people) {
      // UTF-8 bytes, not characters: a page of non-Latin names must stay under the message limit too.
      bytes += Buffer.byteLength(JSON.stringify(person)) + 1;
      if (bytes > DIRECTORY_PAGE_MAX_BYTES && kept > 0) break;
      kept++;
    }
    const people = kept < page.people.length ? page.people.slice(0, kept) : page.people;
    const more = page.more || kept < page.people.length;
    const last = people.at(-1);
    return {
      people,
      orgVersion: page.orgVersion,
      version: snapshot.version,
      ...(more && last ? { nextAfter: last.userId } : {}),
    };
  }

  /** Keeps one part of a chunked org import until importOrg names its upload. */
  async importOrgPart(
    request: RpcRequest<typeof ImportOrgPart>,
    actor: string,
  ): Promise<RpcResponse<typeof ImportOrgPart>> {
    this.versions.require();
    // A new upload clears what abandoned ones left (an upload takes seconds; an hour is generous).
    if (request.index === 0) await this.pruneImportParts(ORG_IMPORT_PART_TTL_MS);
    await this.repository.saveImportPart(request.uploadId, request.index, request.csv);
    this.logger.debug(
      { uploadId: request.uploadId, index: request.index, actor },
      'org import part received',
    );
    return { uploadId: request.uploadId, index: request.index };
  }

  /** Drops the parts of uploads not completed within `maxAgeMs`. */
  private async pruneImportParts(maxAgeMs: number): Promise<number> {
    return this.repository.pruneImportParts(new Date(this.clock.now().getTime() - maxAgeMs));
  }

  /**
   * A user's manager. The mesh also asks by agent id or role id (an approval addressed to a role
   * escalates to whoever heads it): when no user has that id, an agent id resolves to its role and a
   * role to its topmost user, whose manager is returned.
   */
  async getManager(userId: string): Promise<RpcResponse<typeof GetManager>> {
    let user = await this.repository.findUser(userId);
    const snapshot = this.versions.current;
    if (!user && snapshot) {
      const model = snapshot.model;
      const role = model.roles.some((r) => r.id === userId) ? userId : findAgent(model, userId)?.role;
      if (role) user = await this.repository.headOfRole(role);
    }
    if (!user) throw new AppError('user_not_found', `unknown user "${userId}"`, { details: { userId } });
    const manager = user.reportsToId ? ((await this.repository.findUser(user.reportsToId)) ?? null) : null;
    return { user, manager };
  }

  /**
   * The head of a department anywhere in the chart (its topmost person), ids only: the mesh's
   * `head-of:<department>` (ADR 0019). Nobody in it: not_found naming the department.
   */
  async departmentHead(department: string): Promise<RpcResponse<typeof GetDepartmentHead>> {
    const head = await this.repository.headOfDepartment(department);
    if (!head)
      throw new AppError('not_found', `department "${department}" has nobody in the org chart to head it`, {
        details: { department },
      });
    return { department: head.department, userId: head.userId, role: head.role };
  }

  /** Replaces the org chart (all or nothing) after validating it against the current roles. */
  async importOrg(
    source: string | { uploadId: string; parts: number },
    fileName: string | undefined,
    actor: string,
  ): Promise<RpcResponse<typeof ImportOrg>> {
    if (typeof source !== 'string') return this.importUpload(source, fileName, actor);
    return this.importCsv(source, fileName, actor);
  }

  /**
   * A chunked import: its parts, all of them, joined and imported as one CSV; the parts are
   * deleted with the import (a refused import keeps them for a retry of the commit).
   */
  private async importUpload(
    upload: { uploadId: string; parts: number },
    fileName: string | undefined,
    actor: string,
  ): Promise<RpcResponse<typeof ImportOrg>> {
    const parts = await this.repository.transaction((tx) => tx.peekImportParts(upload.uploadId));
    const received = new Set(parts.map((p) => p.index));
    const missing = [];
    for (let i = 0; i < upload.parts; i++) if (!received.has(i)) missing.push(i);
    // Parts past the count named: the upload is not the one the caller thinks it committed.
    if (missing.length > 0 || parts.length !== upload.parts)
      throw new AppError('validation_failed', `upload ${upload.uploadId} is incomplete`, {
        details: {
          uploadId: upload.uploadId,
          expected: upload.parts,
          received: parts.length,
          missing: missing.slice(0, 20),
        },
      });
    return this.importCsv(parts.map((p) => p.csv).join(''), fileName, actor, upload.uploadId);
  }

  private async importCsv(
    csv: string,
    fileName: string | undefined,
    actor: string,
    uploadId?: string,
  ): Promise<RpcResponse<typeof ImportOrg>> {
    const snapshot = this.versions.require();
    const result = validateOrgChart(csv, {
      knownRoles: new Set(snapshot.model.roles.map((r) => r.id)),
      file: fileName ?? 'org-chart.csv',
    });
    if (!result.ok) throw orgChartRefused(result.problems);
    const now = this.clock.now();
    const users = withDepths(result.users);
    const orgVersion = await this.repository.transaction(async (tx) => {
      if (uploadId) await tx.deleteImportParts(uploadId);
      const version = await tx.replaceOrg({
        users,
        sourceHash: `sha256:${createHash('sha256').update(csv, 'utf8').digest('hex')}`,
        fileName: fileName ?? null,
        importedBy: actor,
        importedAt: now,
      });
      await tx.enqueue(OrgImported, {
        orgVersion: version,
        users: users.length,
        importedBy: actor,
        occurredAt: now.toISOString(),
      });
      return version;
    });
    this.logger.info({ orgVersion, users: users.length, actor }, 'org chart imported');
    return { orgVersion, users: users.length, importedAt: now.toISOString() };
  }

  async assignProfile(
    userId: string,
    profileId: string,
    actor: string,
  ): Promise<RpcResponse<typeof AssignProfile>> {
    const snapshot = this.versions.require();
    const now = this.clock.now();
    await this.repository.transaction(async (tx) => {
      // Read under a share lock: an org import replacing this user waits until the assignment commits.
      const user = await tx.findUser(userId, { lock: true });
      if (!user) throw new AppError('user_not_found', `unknown user "${userId}"`, { details: { userId } });
      const profile = checkProfileAssignment(snapshot.model, user, profileId);
      await tx.upsertAssignment({
        user_id: userId,
        profile_id: profile.id,
        role: profile.role,
        assigned_by: actor,
        assigned_at: now,
      });
    });
    this.logger.info({ userId, profileId, actor }, 'profile assigned');
    return { userId, profileId, assignedBy: actor, assignedAt: now.toISOString() };
  }
}

/** Each user's distance from the top of the chart (a validated chart has no cycles). */
export function withDepths(users: readonly OrgUser[]): Array<OrgUser & { depth: number }> {
  const byId = new Map(users.map((u) => [u.userId, u]));
  const depth = new Map<string, number>();
  const depthOf = (start: OrgUser): number => {
    const chain: OrgUser[] = [];
    let current: OrgUser | undefined = start;
    let base = -1;
    while (current) {
      const known = depth.get(current.userId);
      if (known !== undefined) {
        base = known;
        break;
      }
      chain.push(current);
      if (chain.length > users.length) throw new Error('reporting cycle in a validated org chart');
      current = current.reportsToId ? byId.get(current.reportsToId) : undefined;
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      base += 1;
      const user = chain[i];
      if (user) depth.set(user.userId, base);
    }
    return depth.get(start.userId) ?? 0;
  };
  return users.map((u) => ({ ...u, depth: depthOf(u) }));
}
