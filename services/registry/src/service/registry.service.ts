import { createHash } from 'node:crypto';
import {
  AgentOffline,
  AgentOnline,
  AgentRegistered,
  AgentRemoved,
  AgentUpdated,
  AppError,
  configHash,
  DIRECTORY_PAGE_MAX_BYTES,
  DIRECTORY_PAGE_MAX_PEOPLE,
  DriftCleared,
  DriftDetected,
  OrgImported,
  ProfilePublished,
  type AgentPresence,
  type ConfigFormat,
  type OrgUser,
  type PolicyKind,
  type RegistryAgent,
  type RegistrySourceFile,
  type RoleProfile,
  type RpcRequest,
  type RpcResponse,
  type GetAgent,
  type GetDirectory,
  type GetManager,
  type GetProfile,
  type ListAgents,
  type LoadRegistry,
  type RenderConfig,
  type ResolvePolicy,
  type AgentHeartbeat,
  type ImportOrg,
  type ImportOrgPart,
  type AssignProfile,
} from '@orgmesh/contracts';
import { signProfile } from '@orgmesh/auth';
import type { Logger } from '@orgmesh/telemetry';
import { loadRegistryDir } from '../loader/registry.reader.js';
import { validateRegistry } from '../loader/registry.validator.js';
import { diffModels, modelDigest } from '../model/registry.diff.js';
import { checkProfileAssignment } from '../model/profile-assignment.js';
import {
  defaultProfileOf,
  effectiveProfile,
  findAgent,
  findProfile,
  type RegistryModel,
} from '../model/registry.model.js';
import { validateOrgChart } from '../org/org-chart.js';
import {
  applyHeartbeat,
  presenceAt,
  reevaluateDrift,
  sweepPresence,
  type AgentPresenceState,
  type PresenceEvent,
} from '../presence/presence.js';
import type { RenderEndpoints } from '../render/render.types.js';
import {
  toPresenceState,
  type RegistryRepository,
  type RegistryTransaction,
} from '../persistence/registry.repository.js';
import type { PresenceRow } from '../persistence/registry.entity.js';
import type { ProfileSigningKey } from './profile-signing.key.js';
import { decodeAgentCursor, encodeAgentCursor } from './agent.cursor.js';
import { agentNotFound, noRegistryVersion, orgChartRefused, registryRefused } from './registry.errors.js';
import {
  expectedHashesOf,
  RegistrySnapshot,
  type ProfileSignature,
  type PublicJwk,
} from './registry.snapshot.js';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface RegistryServiceOptions {
  readonly endpoints: RenderEndpoints;
  readonly presenceTimeoutMs: number;
  readonly signingKey: ProfileSigningKey;
}

export type LoadResult = RpcResponse<typeof LoadRegistry>;

/**
 * Parts of a chunked org import older than this are dropped when the next upload starts, and by the
 * retention job (registry.app.ts) when none does.
 */
export const ORG_IMPORT_PART_TTL_MS = 3_600_000;
/** How many stale agents one presence sweep handles (the next tick takes the rest). */
const SWEEP_BATCH = 500;

/**
 * The registry's use cases. Decisions are the pure domain's (validator, diff, policy, renderer,
 * presence); this class sequences them around the repository's transactions and keeps the current
 * version in memory (`RegistrySnapshot`) so reads never parse YAML or touch Postgres for the model.
 */
export class RegistryService {
  private snapshot: RegistrySnapshot | undefined;
  private readonly installing = new Map<number, Promise<RegistrySnapshot>>();

  constructor(
    private readonly repository: RegistryRepository,
    private readonly options: RegistryServiceOptions,
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The version this replica serves, if any has been loaded. */
  get current(): RegistrySnapshot | undefined {
    return this.snapshot;
  }

  get presenceTimeoutMs(): number {
    return this.options.presenceTimeoutMs;
  }

  /** Registers the signing key's public half and picks up the stored current version. */
  async start(): Promise<void> {
    const key = this.options.signingKey;
    await this.repository.saveSigningKey(key.kid, key.publicJwk, key.origin);
    await this.refresh();
  }

  /** Installs a version committed by another replica (or before this one started); true when it changed. */
  async refresh(): Promise<boolean> {
    const latest = await this.repository.currentVersionNumber();
    if (latest === 0 || latest <= (this.snapshot?.version ?? 0)) return false;
    await this.install(latest);
    return true;
  }

  private require(): RegistrySnapshot {
    if (!this.snapshot) throw noRegistryVersion();
    return this.snapshot;
  }

  /** The snapshot of `version`, building it from Postgres if this replica has not seen it yet. */
  private async snapshotAt(version: number): Promise<RegistrySnapshot> {
    if (version === 0) throw noRegistryVersion();
    if (this.snapshot?.version === version) return this.snapshot;
    return this.install(version);
  }

  private install(version: number, model?: RegistryModel): Promise<RegistrySnapshot> {
    let pending = this.installing.get(version);
    if (!pending) {
      pending = this.build(version, model).finally(() => this.installing.delete(version));
      this.installing.set(version, pending);
    }
    return pending;
  }

  private async build(version: number, model?: RegistryModel): Promise<RegistrySnapshot> {
    const row = await this.repository.versionRow(version);
    if (!row) throw new AppError('internal', `registry version ${version} not found`);
    const [signatureRows, keys] = await Promise.all([
      this.repository.signaturesOf(version),
      this.repository.publicKeys(this.options.signingKey.kid),
    ]);
    const signatures = new Map<string, ProfileSignature>(
      signatureRows.map((s) => [s.profile_id, { jws: s.jws, kid: s.kid, version: s.version }]),
    );
    const common = {
      version,
      digest: row.digest,
      sourceHash: row.source_hash,
      signatures,
      jwks: { keys: keys as PublicJwk[] },
      endpoints: this.options.endpoints,
    };
    const snapshot = model
      ? RegistrySnapshot.fromModel({ ...common, model })
      : RegistrySnapshot.fromFiles({ ...common, files: row.files });
    if (!this.snapshot || snapshot.version > this.snapshot.version) {
      this.snapshot = snapshot;
      this.logger.info(
        { version, digest: row.digest, agents: snapshot.model.agents.length },
        'registry version installed',
      );
    }
    return snapshot;
  }

  // ---- loading ---------------------------------------------------------------------------------

  /** Validates a registry given as its files and stores it as a new version (all or nothing). */
  async loadFiles(files: readonly RegistrySourceFile[], actor: string): Promise<LoadResult> {
    const validation = validateRegistry(files);
    if (!validation.ok) throw registryRefused(validation.problems);
    return this.store(files, validation.model, actor);
  }

  /** Reads a registry directory, validates it and stores it as a new version (all or nothing). */
  async loadDirectory(dir: string, actor: string): Promise<LoadResult> {
    const result = await loadRegistryDir(dir);
    if (!result.ok) throw registryRefused(result.problems);
    return this.store(result.files, result.model, actor);
  }

  private async store(
    files: readonly RegistrySourceFile[],
    model: RegistryModel,
    actor: string,
  ): Promise<LoadResult> {
    // The content hash of the files (configHash's path/content framing): any edit makes a new version,
    // even one that leaves the model equal, since file names appear in rendered configs and policy rules.
    const sourceHash = configHash(files);
    const digest = modelDigest(model);
    const counts = {
      roles: model.roles.length,
      agents: model.agents.length,
      profiles: model.profiles.length,
    };
    const key = this.options.signingKey;
    const outcome = await this.repository.withLoadLock(async (tx) => {
      const current = await tx.currentVersion();
      if (current && current.source_hash === sourceHash)
        return { version: current.version, digest: current.digest, changed: false };
      const previous = current ? (await this.snapshotAt(current.version)).model : undefined;
      const version = (current?.version ?? 0) + 1;
      const now = this.clock.now();
      const occurredAt = now.toISOString();
      const changes = diffModels(previous, model);
      const publishedBefore = current
        ? await tx.publishedVersions(current.version)
        : new Map<string, number>();
      const toPublish = model.profiles.filter(
        (p) => changes.publishedProfiles.some((c) => c.id === p.id) || !publishedBefore.has(p.id),
      );
      const publications: Array<{ profile: RoleProfile; jws: string; kid: string; publishedAt: Date }> = [];
      for (const profile of toPublish) {
        const jws = await signProfile({ profile, version, publishedAt: occurredAt }, key.privateKey, key.kid);
        publications.push({ profile, jws, kid: key.kid, publishedAt: now });
      }
      const published = new Set(toPublish.map((p) => p.id));
      await tx.insertVersion(
        {
          version,
          sourceHash,
          digest,
          files,
          roles: model.roles,
          agents: model.agents.map((agent) => ({ agent, profileId: effectiveProfile(model, agent).id })),
          profiles: model.profiles.map((profile) => ({
            profile,
            publishedVersion: published.has(profile.id)
              ? version
              : (publishedBefore.get(profile.id) ?? version),
          })),
          publications,
          signingKey: { kid: key.kid, publicJwk: key.publicJwk, origin: key.origin },
          loadedBy: actor,
          loadedAt: now,
        },
        { roles: model.roles, agents: model.agents, profiles: model.profiles },
      );
      for (const agent of changes.registered)
        await tx.enqueue(AgentRegistered, { agent, version, occurredAt });
      for (const { agent, changed } of changes.updated)
        await tx.enqueue(AgentUpdated, { agent, changed, version, occurredAt });
      for (const agent of changes.removed) {
        await tx.enqueue(AgentRemoved, { agentId: agent.id, role: agent.role, version, occurredAt });
      }
      for (const p of publications) {
        await tx.enqueue(ProfilePublished, {
          profileId: p.profile.id,
          role: p.profile.role,
          version,
          jws: p.jws,
          kid: p.kid,
          occurredAt,
        });
      }
      const drift = await this.rejudgeDrift(tx, model, now);
      return {
        version,
        digest,
        changed: true,
        registered: changes.registered.length,
        updated: changes.updated.length,
        removed: changes.removed.length,
        drift,
      };
    });
    if (outcome.changed) {
      this.logger.info({ ...outcome, actor }, 'registry version stored');
      await this.install(outcome.version, model);
    } else if (!this.snapshot || this.snapshot.version < outcome.version) {
      await this.install(outcome.version);
    }
    return { version: outcome.version, digest: outcome.digest, changed: outcome.changed, ...counts };
  }

  /**
   * Re-judges drift of every agent heard from against `model`'s rendered configs (a changed declaration
   * drifts running agents; a revert clears them) and forgets agents the model no longer declares.
   * Runs under the load lock; returns how many drift events it raised.
   */
  private async rejudgeDrift(tx: RegistryTransaction, model: RegistryModel, now: Date): Promise<number> {
    const rows = await tx.lockAllPresence();
    if (rows.length === 0) return 0;
    const expected = new Map(
      [...expectedHashesOf(model, this.options.endpoints)].map(([id, hashes]) => [
        id,
        Object.values(hashes).filter((h): h is string => typeof h === 'string'),
      ]),
    );
    const state = new Map<string, AgentPresenceState>();
    for (const row of rows) {
      const entry = toPresenceState(row);
      if (entry) state.set(row.agent_id, entry);
    }
    const transition = reevaluateDrift(state, expected, now.getTime());
    for (const [agentId, entry] of transition.state) {
      if (entry !== state.get(agentId)) await tx.savePresence(entry);
    }
    await tx.deletePresence(rows.filter((r) => !expected.has(r.agent_id)).map((r) => r.agent_id));
    await this.enqueuePresence(tx, transition.events);
    return transition.events.length;
  }

  /**
   * Re-judges drift against the version this replica serves, e.g. after a restart with other render
   * endpoints (the expected hashes changed though the registry did not).
   */
  async reconcileDrift(): Promise<number> {
    return this.repository.withLoadLock(async (tx) => {
      const version = await tx.currentVersionNumber();
      if (version === 0) return 0;
      const snapshot = await this.snapshotAt(version);
      return this.rejudgeDrift(tx, snapshot.model, this.clock.now());
    });
  }

  // ---- reads -----------------------------------------------------------------------------------

  async getAgent(agentId: string): Promise<RpcResponse<typeof GetAgent>> {
    const snapshot = this.require();
    const agent = findAgent(snapshot.model, agentId);
    if (!agent) throw agentNotFound(agentId);
    const row = await this.repository.presence(agentId);
    return {
      agent,
      profileId: effectiveProfile(snapshot.model, agent).id,
      presence: this.presenceOf(row),
      expectedConfigHashes: snapshot.expectedHashes.get(agentId) ?? {},
      version: snapshot.version,
    };
  }

  async listAgents(filter: {
    role?: string;
    online?: boolean;
    limit: number;
    cursor?: string;
  }): Promise<RpcResponse<typeof ListAgents>> {
    const snapshot = this.require();
    const after = filter.cursor ? decodeAgentCursor(filter.cursor) : undefined;
    const presence = new Map((await this.repository.allPresence()).map((row) => [row.agent_id, row]));
    const items: Array<{ agent: RegistryAgent; presence: AgentPresence }> = [];
    let more = false;
    for (const agent of snapshot.model.agents) {
      if (after !== undefined && agent.id <= after) continue;
      if (filter.role && agent.role !== filter.role) continue;
      const entry = this.presenceOf(presence.get(agent.id));
      if (filter.online !== undefined && entry.online !== filter.online) continue;
      if (items.length === filter.limit) {
        more = true;
        break;
      }
      items.push({ agent, presence: entry });
    }
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: more && last ? encodeAgentCursor(last.agent.id) : null,
      version: snapshot.version,
    };
  }

  getProfile(
    request: { profileId: string } | { role: string },
  ): RpcResponse<typeof GetProfile> & { jwks: { keys: PublicJwk[] } } {
    const snapshot = this.require();
    const profile =
      'profileId' in request
        ? findProfile(snapshot.model, request.profileId)
        : defaultProfileOf(snapshot.model, request.role);
    if (!profile) {
      const what =
        'profileId' in request
          ? `unknown profile "${request.profileId}"`
          : `no profile for role "${request.role}"`;
      throw new AppError('profile_not_found', what);
    }
    const signature = snapshot.signatures.get(profile.id);
    if (!signature) throw new AppError('internal', `profile ${profile.id} has no signed publication`);
    return { profile, version: snapshot.version, jws: signature.jws, jwks: snapshot.jwks };
  }

  /** From the in-memory index of the current version: no I/O. */
  resolvePolicy(from: string, to: string, kind: PolicyKind): RpcResponse<typeof ResolvePolicy> {
    const snapshot = this.require();
    return { ...snapshot.resolvePolicy(from, to, kind), version: snapshot.version };
  }

  renderConfig(agentId: string, format: ConfigFormat): RpcResponse<typeof RenderConfig> {
    const snapshot = this.require();
    if (!findAgent(snapshot.model, agentId)) throw agentNotFound(agentId);
    const { files, configHash: hash, warnings } = snapshot.render(agentId, format);
    return { agentId, format, files, configHash: hash, version: snapshot.version, warnings };
  }

  /**
   * One page of the directory (ADR 0013): up to `limit` people after `after`, cut earlier at
   * DIRECTORY_PAGE_MAX_BYTES of people so that the answer stays one NATS message at any org size.
   */
  async directory(request: RpcRequest<typeof GetDirectory> = {}): Promise<RpcResponse<typeof GetDirectory>> {
    const snapshot = this.require();
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
    this.require();
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
    if (!user && this.snapshot) {
      const model = this.snapshot.model;
      const role = model.roles.some((r) => r.id === userId) ? userId : findAgent(model, userId)?.role;
      if (role) user = await this.repository.headOfRole(role);
    }
    if (!user) throw new AppError('user_not_found', `unknown user "${userId}"`, { details: { userId } });
    const manager = user.reportsToId ? ((await this.repository.findUser(user.reportsToId)) ?? null) : null;
    return { user, manager };
  }

  // ---- writes ----------------------------------------------------------------------------------

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
    const snapshot = this.require();
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
    const snapshot = this.require();
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

  /**
   * Records a heartbeat: online, and drift judged against the configs rendered for the agent's current
   * declaration (only `format`'s when given). Runs under the shared load lock so a concurrent load
   * cannot judge drift against a version this heartbeat has not seen.
   */
  async heartbeat(input: {
    agentId: string;
    configHash: string;
    format?: ConfigFormat;
  }): Promise<RpcResponse<typeof AgentHeartbeat>> {
    const now = this.clock.now();
    return this.repository.withSharedLoadLock(async (tx) => {
      const snapshot = await this.snapshotAt(await tx.currentVersionNumber());
      if (!findAgent(snapshot.model, input.agentId)) throw agentNotFound(input.agentId);
      const expected = snapshot.expectedHashList(input.agentId, input.format);
      const row = await tx.lockPresence(input.agentId);
      const previous = toPresenceState(row);
      const state = new Map(previous ? [[input.agentId, previous]] : []);
      const transition = applyHeartbeat(
        state,
        { agentId: input.agentId, configHash: input.configHash, at: now.getTime() },
        expected,
      );
      const entry = transition.state.get(input.agentId);
      if (!entry) throw new Error('heartbeat left no presence entry');
      if (transition.state !== state) await tx.savePresence(entry, input.format ?? null);
      await this.enqueuePresence(tx, transition.events);
      return {
        online: true as const,
        drift: entry.drift,
        timeoutMs: this.options.presenceTimeoutMs,
        receivedAt: now.toISOString(),
      };
    });
  }

  /** Marks offline the online agents silent longer than the timeout; undefined when another replica ran it. */
  async sweepPresence(): Promise<number | undefined> {
    const { ran, result } = await this.repository.lockedJob('presence', async (tx) => {
      const now = this.clock.now();
      const timeout = this.options.presenceTimeoutMs;
      const rows = await tx.lockStalePresence(new Date(now.getTime() - timeout), SWEEP_BATCH);
      const state = new Map<string, AgentPresenceState>();
      for (const row of rows) {
        const entry = toPresenceState(row);
        if (entry) state.set(row.agent_id, entry);
      }
      const transition = sweepPresence(state, now.getTime(), timeout);
      for (const event of transition.events) {
        const entry = transition.state.get(event.agentId);
        if (entry) await tx.savePresence(entry);
      }
      await this.enqueuePresence(tx, transition.events);
      return transition.events.length;
    });
    return ran ? result : undefined;
  }

  private async enqueuePresence(tx: RegistryTransaction, events: readonly PresenceEvent[]): Promise<void> {
    for (const event of events) {
      const occurredAt = new Date(event.at).toISOString();
      switch (event.type) {
        case 'agent-online':
          await tx.enqueue(AgentOnline, { agentId: event.agentId, occurredAt });
          break;
        case 'agent-offline':
          await tx.enqueue(AgentOffline, {
            agentId: event.agentId,
            lastSeenAt: new Date(event.lastSeenAt).toISOString(),
            occurredAt,
          });
          break;
        case 'drift-detected':
          await tx.enqueue(DriftDetected, {
            agentId: event.agentId,
            reportedConfigHash: event.reportedConfigHash,
            expectedConfigHashes: [...event.expectedConfigHashes],
            occurredAt,
          });
          break;
        case 'drift-cleared':
          await tx.enqueue(DriftCleared, {
            agentId: event.agentId,
            configHash: event.configHash,
            occurredAt,
          });
          break;
      }
    }
  }

  private presenceOf(row: PresenceRow | undefined): AgentPresence {
    const shown = presenceAt(
      toPresenceState(row),
      this.clock.now().getTime(),
      this.options.presenceTimeoutMs,
    );
    return {
      online: shown.online,
      lastSeenAt: shown.lastSeenAt === null ? null : new Date(shown.lastSeenAt).toISOString(),
      reportedConfigHash: shown.reportedConfigHash,
      drift: shown.drift,
    };
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
