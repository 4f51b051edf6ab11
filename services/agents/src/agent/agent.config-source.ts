import { parse as parseYaml } from 'yaml';
import { configHash, RenderConfig, type RenderedFile } from '@orgmesh/contracts';
import type { MeshAgent } from '@orgmesh/agent-sdk';
import type { Logger } from '@orgmesh/telemetry';
import { builtInInstructions, type RoleDefinition } from '../roles/role.definitions.js';

/** The configuration the agent runs on, and where it came from. */
export interface AgentRunConfig {
  readonly source: 'registry' | 'built-in';
  /** Instructions appended to the system prompt. */
  readonly instructions: string;
  readonly model: string;
  /** `sha256:` over the files, as the registry hashes a rendered config; reported with every heartbeat. */
  readonly configHash: string;
  readonly format?: 'goose';
}

/** The built-in configuration of a role (when the registry is not reachable): its own hash, which the registry will see as drift. */
export function builtInConfig(
  definition: RoleDefinition,
  agentId: string,
  modelOverride?: string,
): AgentRunConfig {
  const instructions = builtInInstructions(definition, agentId);
  const model = modelOverride ?? definition.model;
  return {
    source: 'built-in',
    instructions,
    model,
    configHash: configHash([
      { path: 'AGENT.md', content: instructions },
      { path: 'model', content: model },
    ]),
  };
}

/**
 * The Goose config the registry renders for this agent: `.goosehints` become the instructions and
 * `GOOSE_MODEL` the model, so the agent really runs on what the registry declared, and its
 * heartbeat hash matches (no drift) unless someone changes either side.
 */
export function registryConfig(
  files: readonly RenderedFile[],
  modelOverride?: string,
): AgentRunConfig | undefined {
  const hints = files.find((f) => f.path === '.goosehints');
  const configYaml = files.find((f) => f.path.endsWith('config.yaml'));
  if (!hints) return undefined;
  let model = modelOverride;
  if (!model && configYaml) {
    const parsed = parseYaml(configYaml.content) as { GOOSE_MODEL?: unknown } | null;
    if (typeof parsed?.GOOSE_MODEL === 'string') model = parsed.GOOSE_MODEL;
  }
  return {
    source: 'registry',
    instructions: hints.content,
    model: model ?? 'gpt-4o-mini',
    configHash: configHash(files),
    format: 'goose',
  };
}

/**
 * Keeps the agent's configuration: built-in until the registry renders one, then the rendered one.
 * The registry is asked at start and, until it answers, again after 1, 2, 4 … s, then every `retryMs`.
 */
export class AgentConfigSource {
  private config: AgentRunConfig;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private warned = false;
  private attempts = 0;

  constructor(
    private readonly definition: RoleDefinition,
    private readonly agentId: string,
    private readonly modelOverride: string | undefined,
    private readonly logger: Logger,
    private readonly retryMs = 30_000,
  ) {
    this.config = builtInConfig(definition, agentId, modelOverride);
  }

  get current(): AgentRunConfig {
    return this.config;
  }

  /** Asks the registry once now; keeps asking in the background while it does not answer. */
  async start(agent: MeshAgent): Promise<void> {
    if (await this.fetch(agent)) return;
    this.schedule(agent);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(agent: MeshAgent): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        void this.fetch(agent).then((ok) => {
          if (!ok) return this.schedule(agent);
          // Tell the registry at once: the built-in config it heard about so far showed as drift.
          void agent.heartbeat().catch(() => undefined);
        });
      },
      Math.min(this.retryMs, 1_000 * 2 ** this.attempts++),
    );
    this.timer.unref();
  }

  private async fetch(agent: MeshAgent): Promise<boolean> {
    try {
      const rendered = await agent.bus.request(
        RenderConfig,
        { agentId: this.agentId, format: 'goose' },
        { authorization: await agent.authorization(), timeoutMs: 3_000 },
      );
      const config = registryConfig(rendered.files, this.modelOverride);
      if (!config) {
        this.logger.warn(
          { agentId: this.agentId },
          'registry config has no instructions; keeping the built-in config',
        );
        return true;
      }
      if (config.configHash !== rendered.configHash) {
        this.logger.warn(
          { agentId: this.agentId },
          'rendered config hash does not match its files; keeping the built-in config',
        );
        return true;
      }
      this.config = config;
      this.logger.info(
        {
          agentId: this.agentId,
          configHash: config.configHash,
          version: rendered.version,
          model: config.model,
        },
        'running on the config rendered by the registry',
      );
      return true;
    } catch (error) {
      const fields = {
        agentId: this.agentId,
        code: (error as { code?: string }).code ?? 'internal',
        configHash: this.config.configHash,
      };
      if (!this.warned)
        this.logger.warn(fields, 'registry config unavailable; running on the built-in config');
      else this.logger.debug(fields, 'registry config still unavailable');
      this.warned = true;
      return false;
    }
  }
}
