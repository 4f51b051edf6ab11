import type { RegistryAgent, RoleProfile } from '@orgmesh/contracts';

/** Where a rendered agent finds the rest of orgmesh. */
export interface RenderEndpoints {
  /** The privacy proxy, the agent's only model endpoint (e.g. `http://127.0.0.1:8090`). */
  readonly privacyProxyUrl: string;
  /** The gateway the orgmesh MCP server talks to (e.g. `http://127.0.0.1:8080`). */
  readonly gatewayUrl: string;
  /** The orgmesh MCP server's command (`orgmesh-mcp`). */
  readonly mcpCommand: string;
  readonly mcpArgs?: readonly string[];
}

/** A delegate as the rendered instructions present it. */
export interface DelegateSummary {
  readonly id: string;
  readonly displayName: string;
  readonly role: string;
  readonly description: string;
}

/** Everything a renderer needs; pure data, so rendering is a pure function. */
export interface RenderInput {
  readonly agent: RegistryAgent;
  readonly profile: RoleProfile;
  readonly endpoints: RenderEndpoints;
  /** The agents named in `delegates_to`, in that order. */
  readonly delegates: readonly DelegateSummary[];
  /** Paths other agents hold exclusively: this agent may neither read nor change them. */
  readonly othersExclusiveAccess: readonly string[];
  /** Source files, named in the "do not edit" header. */
  readonly sources: { readonly agent: string; readonly profile: string };
}

/** Environment variable names the orgmesh MCP server reads; secrets are referenced, never rendered. */
export const MCP_ENV = {
  agentId: 'ORGMESH_AGENT_ID',
  clientId: 'ORGMESH_CLIENT_ID',
  clientSecret: 'ORGMESH_CLIENT_SECRET',
  gatewayUrl: 'ORGMESH_GATEWAY_URL',
} as const;
