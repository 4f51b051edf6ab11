import {
  AppError,
  type AgentHeartbeat,
  type AgentPresence,
  type AssignProfile,
  type ConfigFormat,
  type GetAgent,
  type GetDirectory,
  type GetDepartmentHead,
  type GetManager,
  type GetProfile,
  type ImportOrg,
  type ImportOrgPart,
  type ListAgents,
  type PolicyKind,
  type RegistryAgent,
  type RegistrySourceFile,
  type RenderConfig,
  type ResolvePolicy,
  type RpcRequest,
  type RpcResponse,
} from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import { defaultProfileOf, effectiveProfile, findAgent, findProfile } from '../model/registry.model.js';
import type { RegistryRepository } from '../persistence/registry.repository.js';
import { decodeAgentCursor, encodeAgentCursor } from './agent.cursor.js';
import { agentNotFound } from './registry.errors.js';
import { RegistryLoader, type LoadResult } from './registry.loading.js';
import { RegistryOrg } from './registry.org.js';
import { RegistryPresence } from './registry.presence.js';
import type { PublicJwk, RegistrySnapshot } from './registry.snapshot.js';
import {
  RegistryVersions,
  systemClock,
  type Clock,
  type RegistryServiceOptions,
} from './registry.versions.js';

export { systemClock, type Clock, type RegistryServiceOptions } from './registry.versions.js';
export type { LoadResult } from './registry.loading.js';
export { ORG_IMPORT_PART_TTL_MS, withDepths } from './registry.org.js';

/**
 * The registry's use cases. Decisions are the pure domain's (validator, diff, policy, renderer,
 * presence); this class sequences them around the repository's transactions and keeps the current
 * version in memory (`RegistrySnapshot`) so reads never parse YAML or touch Postgres for the model.
 * The reads of the model are here; versions, loading, presence and the org chart are delegated to
 * RegistryVersions, RegistryLoader, RegistryPresence and RegistryOrg, which share this replica's
 * snapshot through the one RegistryVersions.
 */
export class RegistryService {
  private readonly versions: RegistryVersions;
  private readonly presence: RegistryPresence;
  private readonly loader: RegistryLoader;
  private readonly org: RegistryOrg;

  constructor(
    private readonly repository: RegistryRepository,
    private readonly options: RegistryServiceOptions,
    logger: Logger,
    clock: Clock = systemClock,
  ) {
    this.versions = new RegistryVersions(repository, options, logger);
    this.presence = new RegistryPresence(repository, this.versions, options, clock);
    this.loader = new RegistryLoader(repository, this.versions, this.presence, options, logger, clock);
    this.org = new RegistryOrg(repository, this.versions, logger, clock);
  }

  /** The version this replica serves, if any has been loaded. */
  get current(): RegistrySnapshot | undefined {
    return this.versions.current;
  }

  get presenceTimeoutMs(): number {
    return this.options.presenceTimeoutMs;
  }

  /** Registers the signing key's public half and picks up the stored current version. */
  start(): Promise<void> {
    return this.versions.start();
  }

  /** Installs a version committed by another replica (or before this one started); true when it changed. */
  refresh(): Promise<boolean> {
    return this.versions.refresh();
  }

  // ---- loading ---------------------------------------------------------------------------------

  /** Validates a registry given as its files and stores it as a new version (all or nothing). */
  loadFiles(files: readonly RegistrySourceFile[], actor: string): Promise<LoadResult> {
    return this.loader.loadFiles(files, actor);
  }

  /** Reads a registry directory, validates it and stores it as a new version (all or nothing). */
  loadDirectory(dir: string, actor: string): Promise<LoadResult> {
    return this.loader.loadDirectory(dir, actor);
  }

  /**
   * Re-judges drift against the version this replica serves, e.g. after a restart with other render
   * endpoints (the expected hashes changed though the registry did not).
   */
  reconcileDrift(): Promise<number> {
    return this.loader.reconcileDrift();
  }

  // ---- reads -----------------------------------------------------------------------------------

  async getAgent(agentId: string): Promise<RpcResponse<typeof GetAgent>> {
    const snapshot = this.versions.require();
    const agent = findAgent(snapshot.model, agentId);
    if (!agent) throw agentNotFound(agentId);
    const row = await this.repository.presence(agentId);
    return {
      agent,
      profileId: effectiveProfile(snapshot.model, agent).id,
      presence: this.presence.presenceOf(row),
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
    const snapshot = this.versions.require();
    const after = filter.cursor ? decodeAgentCursor(filter.cursor) : undefined;
    const presence = new Map((await this.repository.allPresence()).map((row) => [row.agent_id, row]));
    const items: Array<{ agent: RegistryAgent; presence: AgentPresence }> = [];
    let more = false;
    for (const agent of snapshot.model.agents) {
      if (after !== undefined && agent.id <= after) continue;
      if (filter.role && agent.role !== filter.role) continue;
      const entry = this.presence.presenceOf(presence.get(agent.id));
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
    const snapshot = this.versions.require();
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
    const snapshot = this.versions.require();
    return { ...snapshot.resolvePolicy(from, to, kind), version: snapshot.version };
  }

  renderConfig(agentId: string, format: ConfigFormat): RpcResponse<typeof RenderConfig> {
    const snapshot = this.versions.require();
    if (!findAgent(snapshot.model, agentId)) throw agentNotFound(agentId);
    const { files, configHash: hash, warnings } = snapshot.render(agentId, format);
    return { agentId, format, files, configHash: hash, version: snapshot.version, warnings };
  }

  /** One page of the directory (ADR 0013); see RegistryOrg.directory. */
  directory(request: RpcRequest<typeof GetDirectory> = {}): Promise<RpcResponse<typeof GetDirectory>> {
    return this.org.directory(request);
  }

  /** Keeps one part of a chunked org import until importOrg names its upload. */
  importOrgPart(
    request: RpcRequest<typeof ImportOrgPart>,
    actor: string,
  ): Promise<RpcResponse<typeof ImportOrgPart>> {
    return this.org.importOrgPart(request, actor);
  }

  /** A user's manager, also asked by agent id or role id; see RegistryOrg.getManager. */
  getManager(userId: string): Promise<RpcResponse<typeof GetManager>> {
    return this.org.getManager(userId);
  }

  /** The head of a department, ids only; see RegistryOrg.departmentHead. */
  departmentHead(department: string): Promise<RpcResponse<typeof GetDepartmentHead>> {
    return this.org.departmentHead(department);
  }

  // ---- writes ----------------------------------------------------------------------------------

  /** Replaces the org chart (all or nothing) after validating it against the current roles. */
  importOrg(
    source: string | { uploadId: string; parts: number },
    fileName: string | undefined,
    actor: string,
  ): Promise<RpcResponse<typeof ImportOrg>> {
    return this.org.importOrg(source, fileName, actor);
  }

  assignProfile(
    userId: string,
    profileId: string,
    actor: string,
  ): Promise<RpcResponse<typeof AssignProfile>> {
    return this.org.assignProfile(userId, profileId, actor);
  }

  /** Records a heartbeat (online, and drift); see RegistryPresence.heartbeat. */
  heartbeat(input: {
    agentId: string;
    configHash: string;
    format?: ConfigFormat;
  }): Promise<RpcResponse<typeof AgentHeartbeat>> {
    return this.presence.heartbeat(input);
  }

  /** Marks offline the online agents silent longer than the timeout; undefined when another replica ran it. */
  sweepPresence(): Promise<number | undefined> {
    return this.presence.sweepPresence();
  }
}
