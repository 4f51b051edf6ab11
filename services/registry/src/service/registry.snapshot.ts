import {
  configHash,
  type ConfigFormat,
  type PolicyDecision,
  type PolicyKind,
  type RenderedFile,
} from '@orgmesh/contracts';
import { formatProblem } from '../loader/problem.js';
import { validateRegistry } from '../loader/registry.validator.js';
import type { RegistryModel } from '../model/registry.model.js';
import { buildPolicyIndex, resolveWithIndex, type PolicyIndex } from '../policy/policy.resolver.js';
import { expectedConfigHashes, renderAgentConfig, renderAgentWarnings } from '../render/config.renderer.js';
import type { RenderEndpoints } from '../render/render.types.js';
import type { RegistrySourceFile } from '@orgmesh/contracts';

export interface ProfileSignature {
  readonly jws: string;
  readonly kid: string;
  /** The registry version the profile was last published (signed) with. */
  readonly version: number;
}

export type PublicJwk = { kty: string; kid: string } & Record<string, unknown>;

/**
 * One registry version held in memory, with everything the hot paths need precomputed: the policy
 * index (resolve-policy is two map lookups), each agent's expected config hashes (heartbeats, get-agent)
 * and the signed profiles. Immutable: a new version builds a new snapshot.
 */
export class RegistrySnapshot {
  private readonly rendered = new Map<
    string,
    { files: RenderedFile[]; configHash: string; warnings: string[] }
  >();

  private constructor(
    readonly version: number,
    readonly digest: string,
    readonly sourceHash: string,
    readonly model: RegistryModel,
    readonly policy: PolicyIndex,
    readonly expectedHashes: ReadonlyMap<string, Partial<Record<ConfigFormat, string>>>,
    readonly signatures: ReadonlyMap<string, ProfileSignature>,
    readonly jwks: { keys: PublicJwk[] },
    private readonly endpoints: RenderEndpoints,
  ) {}

  /**
   * Rebuilds a stored version from its source files with the same validator that accepted them, so
   * there is one code path from YAML to model. A stored version that no longer validates (a validator
   * made stricter since) is a deployment error, reported with its problems.
   */
  static fromFiles(input: {
    version: number;
    digest: string;
    sourceHash: string;
    files: readonly RegistrySourceFile[];
    signatures: ReadonlyMap<string, ProfileSignature>;
    jwks: { keys: PublicJwk[] };
    endpoints: RenderEndpoints;
  }): RegistrySnapshot {
    const result = validateRegistry(input.files);
    if (!result.ok) {
      throw new Error(
        `stored registry version ${input.version} no longer validates: ${result.problems.slice(0, 5).map(formatProblem).join('; ')}`,
      );
    }
    return RegistrySnapshot.fromModel({ ...input, model: result.model });
  }

  static fromModel(input: {
    version: number;
    digest: string;
    sourceHash: string;
    model: RegistryModel;
    signatures: ReadonlyMap<string, ProfileSignature>;
    jwks: { keys: PublicJwk[] };
    endpoints: RenderEndpoints;
  }): RegistrySnapshot {
    return new RegistrySnapshot(
      input.version,
      input.digest,
      input.sourceHash,
      input.model,
      buildPolicyIndex(input.model),
      expectedHashesOf(input.model, input.endpoints),
      input.signatures,
      input.jwks,
      input.endpoints,
    );
  }

  resolvePolicy(from: string, to: string, kind: PolicyKind): PolicyDecision {
    return resolveWithIndex(this.policy, from, to, kind);
  }

  /** Every hash a correctly configured agent may report (one per client format it can run in). */
  expectedHashList(agentId: string, format?: ConfigFormat): string[] {
    const hashes = this.expectedHashes.get(agentId) ?? {};
    if (format) {
      const hash = hashes[format];
      return hash ? [hash] : [];
    }
    return Object.values(hashes).filter((h): h is string => typeof h === 'string');
  }

  /** Rendered once per (agent, format) and kept with the version: rendering is deterministic. */
  render(
    agentId: string,
    format: ConfigFormat,
  ): { files: RenderedFile[]; configHash: string; warnings: string[] } {
    const key = `${agentId}\u0000${format}`;
    let cached = this.rendered.get(key);
    if (!cached) {
      const files = renderAgentConfig(this.model, agentId, format, this.endpoints);
      const warnings = renderAgentWarnings(this.model, agentId, format, this.endpoints);
      cached = { files, configHash: configHash(files), warnings };
      this.rendered.set(key, cached);
    }
    return cached;
  }
}

export function expectedHashesOf(
  model: RegistryModel,
  endpoints: RenderEndpoints,
): Map<string, Partial<Record<ConfigFormat, string>>> {
  return new Map(model.agents.map((agent) => [agent.id, expectedConfigHashes(model, agent.id, endpoints)]));
}
