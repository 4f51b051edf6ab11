import { z } from 'zod';
import { defineRpc } from '../define.js';
import { AgentId, ConfigFormat, ConfigHash, RegistryVersion, RenderedFile } from './registry.schema.js';

export const RenderConfig = defineRpc({
  subject: 'rpc.registry.v1.render-config',
  description:
    "The ready-to-run files of an agent's client (Claude Code or Goose), byte-for-byte deterministic, and their hash " +
    '(what a correctly configured agent reports in its heartbeat).',
  request: z.object({ agentId: AgentId, format: ConfigFormat }),
  response: z.object({
    agentId: AgentId,
    format: ConfigFormat,
    files: z.array(RenderedFile),
    configHash: ConfigHash,
    version: RegistryVersion,
    /** Grants the client cannot enforce as declared, rendered narrower or not at all (one line each). */
    warnings: z.array(z.string()).default([]),
  }),
});

/**
 * An executable `orgmesh` inside an agent's workspace, written by `orgmesh agent run` (absolute paths
 * inside): the rendered Claude Code hooks call it first, then `orgmesh` on PATH, and block when neither runs.
 */
export const WORKSPACE_ORGMESH_BIN = '.orgmesh/bin/orgmesh';

/** The `orgmesh agent hook <event>` events the rendered Claude Code settings call and the hook serves. */
export const HOOK_EVENTS = ['pre-tool-use', 'session-start', 'stop'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** Claude Code: exit 2 from a PreToolUse hook blocks the tool call (stderr goes to the model); any other failure lets it run. */
export const HOOK_EXIT_BLOCK = 2;
