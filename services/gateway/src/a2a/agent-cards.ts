import { AgentCard, type AgentSkill, type AgentInterface } from '@a2a-js/sdk';
import {
  AgentId,
  GetAgent,
  GetProfile,
  ListAgents,
  type RegistryAgent,
  type RoleProfile,
  type RpcDefinition,
  type RpcRequestInput,
  type RpcResponse,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { Caller } from '../auth/caller.js';
import type { AgentCardJson, CardSigner } from './card-signing.js';

/** The A2A versions each JSON-RPC endpoint answers: v1.0, and v0.3 (`message/send`...) through the SDK's compat layer. */
export const A2A_VERSIONS = ['1.0', '0.3'] as const;
const SCHEME = 'bearer';
const TOOLS_TAG_LIMIT = 20;
/** Agents read for the org card (it lists roles, not every agent, so one page of the largest size). */
const ORG_AGENTS_LIMIT = 500;
/** How long a known agent id is trusted without asking the registry again (agents are rarely removed). */
const KNOWN_AGENT_TTL_MS = 30_000;
const KNOWN_AGENT_MAX = 10_000;
/**
 * How long a public card is served from memory. Public cards are read without a token, so each read
 * would otherwise be registry RPCs (and, for the org card, a page of 500 agents) on an anonymous
 * request: a replica answers from its copy for this long instead.
 */
const PUBLIC_CARD_TTL_MS = 30_000;
const PUBLIC_CARD_MAX = 10_000;
/** The cache key of the org's public card (agent ids cannot contain a space). */
const ORG_KEY = ' org';

export interface AgentCardsOptions {
  bus: MessageBus;
  signer: CardSigner;
  /** The gateway's public base URL, without a trailing slash. */
  baseUrl: string;
  rpcTimeoutMs: number;
  /** The dev issuer's token endpoint, named in the security scheme's description; undefined in oidc mode. */
  tokenUrl: string | undefined;
  version: string;
  /** Whether push-notification configs are offered. */
  pushNotifications: boolean;
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'skill'
  );
}

const ORG_DESCRIPTION =
  "The organisation's agents over the mesh: a message goes to the role named in metadata.role (a skill id " +
  'below), as a mesh task under the sender’s policy. Each agent has its own card at /a2a/<agent-id>/.well-known/agent-card.json.';

function roleSkill(role: string, description: string): AgentSkill {
  return {
    id: role,
    name: role,
    description,
    tags: [role],
    examples: [],
    inputModes: [],
    outputModes: [],
    securityRequirements: [],
  };
}

/**
 * Builds the Agent Cards from the registry, read with the caller's token (as GET /v1/agents reads
 * it): one card per agent and an org card whose skills are the roles. Cards are signed on every read
 * (an ES256 signature costs ~0.1 ms): a card is always the registry's current data, and no replica
 * holds card state.
 */
export class AgentCards {
  private readonly known = new Map<string, number>();
  private readonly publicCards = new Map<string, { until: number; card: AgentCardJson }>();

  constructor(private readonly options: AgentCardsOptions) {}

  /** Whether `agentId` names a registry agent (cached briefly: every JSON-RPC request checks it). */
  async exists(agentId: string, caller: Caller): Promise<boolean> {
    if (!AgentId.safeParse(agentId).success) return false;
    const until = this.known.get(agentId);
    if (until !== undefined && until > Date.now()) return true;
    const agent = await this.agent(agentId, caller);
    if (!agent) return false;
    if (this.known.size >= KNOWN_AGENT_MAX) this.known.clear();
    this.known.set(agentId, Date.now() + KNOWN_AGENT_TTL_MS);
    return true;
  }

  /** The agent's extended card (with a token: the registry's descriptions), or undefined when the registry has no such agent. */
  async agentCard(agentId: string, caller: Caller): Promise<AgentCardJson | undefined> {
    const found = await this.agent(agentId, caller);
    if (!found) return undefined;
    const { agent, profileId } = found;
    const profile = await this.profile(profileId, caller);
    const skills: AgentSkill[] = agent.responsibilities.map((responsibility, index) => ({
      id: `${slug(responsibility)}-${index + 1}`,
      name: responsibility,
      description: `${responsibility} (role ${agent.role}${profile ? `, profile ${profile.id}` : ''})`,
      tags: [agent.role, ...agent.tools.slice(0, TOOLS_TAG_LIMIT)],
      examples: [],
      inputModes: [],
      outputModes: [],
      securityRequirements: [],
    }));
    const description = [
      agent.description,
      profile?.description ? `Role ${agent.role}: ${profile.description}` : `Role ${agent.role}.`,
      agent.forbidden.length ? `Does not: ${agent.forbidden.join('; ')}.` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return this.sign(
      this.card({
        name: agent.displayName,
        description,
        url: `${this.options.baseUrl}/a2a/${agentId}`,
        skills,
      }),
    );
  }

  /** The org's extended card (with a token): one skill per role, naming its agents; a message names the role in `metadata.role`. */
  async orgCard(caller: Caller): Promise<AgentCardJson> {
    const page = await this.call(caller, ListAgents, { limit: ORG_AGENTS_LIMIT });
    const roles = new Map<string, RegistryAgent[]>();
    for (const { agent } of page.items) roles.set(agent.role, [...(roles.get(agent.role) ?? []), agent]);
    const skills: AgentSkill[] = [...roles.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([role, agents]) =>
        roleSkill(
          role,
          `Send to role ${role} with metadata.role = "${role}"; any of its agents may take it. Agents: ` +
            agents.map((a) => `${a.displayName} (${a.responsibilities.slice(0, 3).join('; ')})`).join(', '),
        ),
      );
    return this.sign(
      this.card({
        name: 'orgmesh',
        description: ORG_DESCRIPTION,
        url: `${this.options.baseUrl}/a2a`,
        skills,
      }),
    );
  }

  /**
   * The agent's public card, served without a token (A2A discovery: a client reads the card, then
   * authenticates as its security scheme says). It holds what a client needs to connect and nothing
   * of the registry's descriptions: the agent's display name and role, the interfaces, the security
   * scheme. Responsibilities, what it must not do, tools, the profile and its description are in the
   * extended card (`GetExtendedAgentCard`, with a token). Undefined when the registry has no such agent.
   */
  async publicAgentCard(agentId: string): Promise<AgentCardJson | undefined> {
    if (!AgentId.safeParse(agentId).success) return undefined;
    const cached = this.cachedPublic(agentId);
    if (cached) return cached;
    const found = await this.agent(agentId, undefined);
    if (!found) return undefined;
    const { role, displayName } = found.agent;
    const card = await this.sign(
      this.card({
        name: displayName,
        description:
          `An orgmesh agent of role ${role}. What it does is in its extended card (GetExtendedAgentCard), ` +
          'for callers with a token.',
        url: `${this.options.baseUrl}/a2a/${agentId}`,
        skills: [roleSkill(role, `Tasks for role ${role}, taken by this agent.`)],
      }),
    );
    return this.keepPublic(agentId, card);
  }

  /** The org's public card: one skill per role (the value of `metadata.role`), no agent named. */
  async publicOrgCard(): Promise<AgentCardJson> {
    const cached = this.cachedPublic(ORG_KEY);
    if (cached) return cached;
    const page = await this.call(undefined, ListAgents, { limit: ORG_AGENTS_LIMIT });
    const roles = [...new Set(page.items.map(({ agent }) => agent.role))].sort((a, b) => a.localeCompare(b));
    const card = await this.sign(
      this.card({
        name: 'orgmesh',
        description: ORG_DESCRIPTION,
        url: `${this.options.baseUrl}/a2a`,
        skills: roles.map((role) =>
          roleSkill(
            role,
            `Send to role ${role} with metadata.role = "${role}"; any of its agents may take it.`,
          ),
        ),
      }),
    );
    return this.keepPublic(ORG_KEY, card);
  }

  private cachedPublic(key: string): AgentCardJson | undefined {
    const entry = this.publicCards.get(key);
    return entry && entry.until > Date.now() ? entry.card : undefined;
  }

  private keepPublic(key: string, card: AgentCardJson): AgentCardJson {
    if (this.publicCards.size >= PUBLIC_CARD_MAX) this.publicCards.clear();
    this.publicCards.set(key, { until: Date.now() + PUBLIC_CARD_TTL_MS, card });
    return card;
  }

  /**
   * The card the SDK's transports consult for version negotiation only (its interfaces' bindings and
   * versions); no registry read, no signature.
   */
  versionCard(): AgentCard {
    return this.card({ name: 'orgmesh', description: '', url: this.options.baseUrl, skills: [] });
  }

  private card(parts: { name: string; description: string; url: string; skills: AgentSkill[] }): AgentCard {
    const interfaces: AgentInterface[] = [
      ...A2A_VERSIONS.map((protocolVersion) => ({
        url: parts.url,
        protocolBinding: 'JSONRPC',
        tenant: '',
        protocolVersion,
      })),
      // HTTP+JSON (REST) in v1.0 only: the SDK's REST handler, mounted under <endpoint>/rest.
      { url: `${parts.url}/rest`, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: '1.0' },
    ];
    const howToGetOne = this.options.tokenUrl
      ? `a token from ${this.options.tokenUrl} (client_credentials)`
      : "a token of the organisation's OpenID provider";
    return {
      name: parts.name,
      description: parts.description,
      supportedInterfaces: interfaces,
      provider: { organization: 'orgmesh', url: this.options.baseUrl },
      version: this.options.version,
      documentationUrl: `${this.options.baseUrl}/docs`,
      capabilities: {
        streaming: true,
        pushNotifications: this.options.pushNotifications,
        extensions: [],
        // The public card at the well-known path is the short one; GetExtendedAgentCard (with a token) the full one.
        extendedAgentCard: true,
      },
      securitySchemes: {
        [SCHEME]: {
          scheme: {
            $case: 'httpAuthSecurityScheme',
            value: {
              description: `The orgmesh JWT (${howToGetOne}); the same token as for the REST API, with the same rights.`,
              scheme: 'Bearer',
              bearerFormat: 'JWT',
            },
          },
        },
      },
      securityRequirements: [{ schemes: { [SCHEME]: { list: [] } } }],
      defaultInputModes: ['text/plain', 'application/json'],
      defaultOutputModes: ['text/plain', 'application/json'],
      skills: parts.skills,
      signatures: [],
    };
  }

  private sign(card: AgentCard): Promise<AgentCardJson> {
    return this.options.signer.sign(AgentCard.toJSON(card) as AgentCardJson);
  }

  /** `caller` undefined: read without a token (the registry's agent reads need none; public cards only). */
  private async agent(
    agentId: string,
    caller: Caller | undefined,
  ): Promise<{ agent: RegistryAgent; profileId: string } | undefined> {
    if (!AgentId.safeParse(agentId).success) return undefined;
    try {
      const found = await this.call(caller, GetAgent, { agentId });
      return { agent: found.agent, profileId: found.profileId };
    } catch (error) {
      if ((error as { code?: unknown }).code === 'agent_not_found') return undefined;
      throw error;
    }
  }

  private async profile(profileId: string, caller: Caller): Promise<RoleProfile | undefined> {
    try {
      return (await this.call(caller, GetProfile, { profileId })).profile;
    } catch (error) {
      // A card without the profile's description is still the agent's card.
      if ((error as { code?: unknown }).code === 'profile_not_found') return undefined;
      throw error;
    }
  }

  private call<R extends RpcDefinition>(
    caller: Caller | undefined,
    rpc: R,
    payload: RpcRequestInput<R>,
  ): Promise<RpcResponse<R>> {
    return this.options.bus.request(rpc, payload, {
      authorization: caller?.authorization,
      timeoutMs: this.options.rpcTimeoutMs,
    });
  }
}
