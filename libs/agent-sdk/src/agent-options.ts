import type { ConfigFormat, Task, TaskPriority, TaskState } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import type { AccessTokenSource } from './token-source.js';

/** What a MeshAgent is configured with, and the options of its calls. */

/** How the agent proves who it is: client credentials at the gateway, or a token provider of its own. */
export type AgentCredentials =
  { gatewayUrl: string; clientId: string; clientSecret: string } | { tokens: AccessTokenSource };

export interface MeshAgentOptions {
  natsUrl: string;
  /** The agent's NKey seed file on a secured bus (`orgmesh nats-config --agent <id>:<role>`); unset: anonymous. */
  nkeySeedFile?: string;
  /** The CA of the NATS servers' TLS certificate (`NATS_TLS_CA_FILE`): TLS required, only that CA trusted. */
  tlsCaFile?: string;
  /** Namespace of the bus (tests and isolated deployments). */
  subjectPrefix?: string;
  nameSuffix?: string;
  credentials: AgentCredentials;
  /** The agent id this process is meant to be; refused when the token names another subject. */
  agentId?: string;
  /**
   * The hash of the configuration the agent runs (`sha256:<hex>`), reported with every heartbeat so
   * the registry can detect drift. Without one the agent sends no heartbeats.
   */
  configHash?: string | (() => Promise<string | undefined>);
  /** The client format the config was rendered for, when it was. */
  configFormat?: ConfigFormat;
  /** Heartbeat period; default 15 s (shortened to a third of the registry's offline timeout). 0 disables. */
  heartbeatIntervalMs?: number;
  /** Deliveries handled at once; default 4. */
  concurrency?: number;
  /** Deliveries of one task before it is dead-lettered; default 10. */
  maxDeliver?: number;
  /**
   * How long the server waits for an ack before redelivering; default 10 s. Handlers may run much
   * longer (the lease is extended while they run); what this bounds is how long a delivery pulled
   * by an instance that then stopped or crashed waits before another instance gets it.
   */
  ackWaitMs?: number;
  backoffMs?: number[];
  /** NATS request timeout of a mesh call; default 10 s. */
  requestTimeoutMs?: number;
  /** How long stop() lets handlers in flight finish before aborting them; default 10 s. */
  shutdownGraceMs?: number;
  /** Report `working` before calling the task/approval handler; default true. */
  autoStart?: boolean;
  logger?: Logger;
}

/** Options of every create (send_task, request_approval, notify). */
export interface CreateOptions {
  /** The workflow (A2A contextId); a handler's calls default to its task's. */
  contextId?: string;
  /** Absolute ISO deadline. */
  deadline?: string;
  priority?: TaskPriority;
  /** Makes a retry return the first task; generated when absent. */
  idempotencyKey?: string;
}

export interface ListFilter {
  role?: string;
  agentId?: string;
  state?: TaskState;
  kind?: Task['kind'];
  contextId?: string;
  direction?: 'inbound' | 'outbound' | 'any';
  limit?: number;
  cursor?: string;
}

/** The states an agent reports with update-task. */
export type UpdateState = 'working' | 'input-required' | 'completed' | 'failed' | 'rejected';

/** The create fields of a request, only those given. */
export function createFields(options: CreateOptions): {
  contextId?: string;
  deadline?: string;
  priority?: TaskPriority;
} {
  return {
    ...(options.contextId !== undefined ? { contextId: options.contextId } : {}),
    ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
  };
}
