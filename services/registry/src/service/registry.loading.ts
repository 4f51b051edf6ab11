import {
  AgentRegistered,
  AgentRemoved,
  AgentUpdated,
  configHash,
  ProfilePublished,
  type LoadRegistry,
  type RegistrySourceFile,
  type RoleProfile,
  type RpcResponse,
} from '@orgmesh/contracts';
import { signProfile } from '@orgmesh/auth';
import type { Logger } from '@orgmesh/telemetry';
import { loadRegistryDir } from '../loader/registry.reader.js';
import { validateRegistry } from '../loader/registry.validator.js';
import { checkRemoteAgents } from '../loader/remote-agents.js';
import { diffModels, modelDigest, type RegistryChanges } from '../model/registry.diff.js';
import { effectiveProfile, type RegistryModel } from '../model/registry.model.js';
import type { RegistryRepository, RegistryTransaction } from '../persistence/registry.repository.js';
import type { ProfileSigningKey } from './profile-signing.key.js';
import { registryRefused } from './registry.errors.js';
import type { RegistryPresence } from './registry.presence.js';
import type { Clock, RegistryServiceOptions, RegistryVersions } from './registry.versions.js';

export type LoadResult = RpcResponse<typeof LoadRegistry>;

interface Publication {
  profile: RoleProfile;
  jws: string;
  kid: string;
  publishedAt: Date;
}

/**
 * Loading a registry: validate, then store as a new version (all or nothing) with its profile
 * publications, change events and drift re-judged, under the load lock.
 */
export class RegistryLoader {
  constructor(
    private readonly repository: RegistryRepository,
    private readonly versions: RegistryVersions,
    private readonly presence: RegistryPresence,
    private readonly options: RegistryServiceOptions,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** Validates a registry given as its files and stores it as a new version (all or nothing). */
  async loadFiles(files: readonly RegistrySourceFile[], actor: string): Promise<LoadResult> {
    const validation = validateRegistry(files);
    if (!validation.ok) throw registryRefused(validation.problems);
    await this.checkRemoteCards(validation.model, files);
    return this.store(files, validation.model, actor);
  }

  /** Reads a registry directory, validates it and stores it as a new version (all or nothing). */
  async loadDirectory(dir: string, actor: string): Promise<LoadResult> {
    const result = await loadRegistryDir(dir);
    if (!result.ok) throw registryRefused(result.problems);
    await this.checkRemoteCards(result.model, result.files);
    return this.store(result.files, result.model, actor);
  }

  /** Remote A2A agents whose card does not answer or does not verify refuse the load (ADR 0021). */
  private async checkRemoteCards(model: RegistryModel, files: readonly RegistrySourceFile[]): Promise<void> {
    // The files of the version served (a restart, a repeated load): checked when it was stored, and the
    // load is a no-op; a remote agent down at that moment must not make a restart log a refusal.
    if (this.versions.current?.sourceHash === configHash(files)) return;
    const problems = await checkRemoteAgents(model, files, this.options.remoteCards);
    if (problems.length > 0) throw registryRefused(problems);
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
      const previous = current ? (await this.versions.snapshotAt(current.version)).model : undefined;
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
      const publications = await signPublications(toPublish, version, now, key);
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
      await enqueueChanges(tx, changes, publications, version, occurredAt);
      const drift = await this.presence.rejudgeDrift(tx, model, now);
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
      await this.versions.install(outcome.version, model);
    } else if (!this.versions.current || this.versions.current.version < outcome.version) {
      await this.versions.install(outcome.version);
    }
    return { version: outcome.version, digest: outcome.digest, changed: outcome.changed, ...counts };
  }

  /**
   * Re-judges drift against the version this replica serves, e.g. after a restart with other render
   * endpoints (the expected hashes changed though the registry did not).
   */
  async reconcileDrift(): Promise<number> {
    return this.repository.withLoadLock(async (tx) => {
      const version = await tx.currentVersionNumber();
      if (version === 0) return 0;
      const snapshot = await this.versions.snapshotAt(version);
      return this.presence.rejudgeDrift(tx, snapshot.model, this.clock.now());
    });
  }
}

/** Signs each profile to publish at `version`, one after the other. */
async function signPublications(
  toPublish: readonly RoleProfile[],
  version: number,
  now: Date,
  key: ProfileSigningKey,
): Promise<Publication[]> {
  const occurredAt = now.toISOString();
  const publications: Publication[] = [];
  for (const profile of toPublish) {
    const jws = await signProfile({ profile, version, publishedAt: occurredAt }, key.privateKey, key.kid);
    publications.push({ profile, jws, kid: key.kid, publishedAt: now });
  }
  return publications;
}

/** The outbox events of a stored version: agents registered, updated and removed, profiles published. */
async function enqueueChanges(
  tx: RegistryTransaction,
  changes: RegistryChanges,
  publications: readonly Publication[],
  version: number,
  occurredAt: string,
): Promise<void> {
  for (const agent of changes.registered) await tx.enqueue(AgentRegistered, { agent, version, occurredAt });
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
}
