import { AppError } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import type { RemoteCardCheck } from '../loader/remote-agents.js';
import type { RegistryModel } from '../model/registry.model.js';
import type { RenderEndpoints } from '../render/render.types.js';
import type { RegistryRepository } from '../persistence/registry.repository.js';
import type { ProfileSigningKey } from './profile-signing.key.js';
import { noRegistryVersion } from './registry.errors.js';
import { RegistrySnapshot, type ProfileSignature, type PublicJwk } from './registry.snapshot.js';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface RegistryServiceOptions {
  readonly endpoints: RenderEndpoints;
  readonly presenceTimeoutMs: number;
  readonly signingKey: ProfileSigningKey;
  /** How remote A2A agents' cards are checked at load (ADR 0021); default: 5 s per card. */
  readonly remoteCards?: RemoteCardCheck;
}

/**
 * The registry versions this replica knows: it keeps the current one in memory (`RegistrySnapshot`) so
 * reads never parse YAML or touch Postgres for the model, and builds a version's snapshot from Postgres
 * once however many callers ask for it at the same time.
 */
export class RegistryVersions {
  private snapshot: RegistrySnapshot | undefined;
  private readonly installing = new Map<number, Promise<RegistrySnapshot>>();

  constructor(
    private readonly repository: RegistryRepository,
    private readonly options: RegistryServiceOptions,
    private readonly logger: Logger,
  ) {}

  /** The version this replica serves, if any has been loaded. */
  get current(): RegistrySnapshot | undefined {
    return this.snapshot;
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

  require(): RegistrySnapshot {
    if (!this.snapshot) throw noRegistryVersion();
    return this.snapshot;
  }

  /** The snapshot of `version`, building it from Postgres if this replica has not seen it yet. */
  async snapshotAt(version: number): Promise<RegistrySnapshot> {
    if (version === 0) throw noRegistryVersion();
    if (this.snapshot?.version === version) return this.snapshot;
    return this.install(version);
  }

  install(version: number, model?: RegistryModel): Promise<RegistrySnapshot> {
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
}
