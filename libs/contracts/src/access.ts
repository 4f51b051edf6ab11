import type { EventDefinition, RpcDefinition } from './define.js';
import {
  ApplySessionEvent,
  CreateSession,
  GetSession,
  ListSessionTransitions,
  ListSessions,
  SessionCreated,
  SessionTransitioned,
} from './sessions/index.js';
import {
  AgentOffline,
  AgentOnline,
  AgentRegistered,
  AgentRemoved,
  AgentUpdated,
  DriftCleared,
  DriftDetected,
  OrgImported,
  ProfilePublished,
  RegistryRpc,
} from './registry/index.js';
import {
  AddTaskInput,
  CancelTask,
  Decide,
  DelegateApprovals,
  GetTask,
  InboxDelivery,
  ListDelegations,
  ListPersonApprovals,
  ListTasks,
  MESH_INBOX_STREAM,
  MESH_INBOX_SUBJECTS,
  MESH_UPDATES_SUBJECT,
  Notify,
  PersonApprovalVisibility,
  RequestApproval,
  RevokeDelegation,
  SendTask,
  TaskCreated,
  TaskUpdated,
  UpdateTask,
} from './mesh/index.js';
import {
  GetRedactions,
  GetUsage,
  MaskText,
  PrivacyBudgetWarning,
  PrivacyRedacted,
  RestoreText,
} from './privacy/index.js';

/**
 * Who may do what on the bus (issue 18, ADR 0011): the single source the NATS permissions of every
 * identity are computed from (libs/messaging `busPermissions`). A contract missing here has no
 * caller or consumer allowed, and the access spec fails for it.
 *
 * The identities: the five services, `runner` (`orgmesh agent run` / `orgmesh sessions`, the
 * supervisor of external agents), `admin-cli` (`orgmesh registry import`), and `agent`, which is a
 * template: each reference agent gets its own credential, confined to its own inboxes.
 */
export const BUS_SERVICES = [
  'sessions',
  'registry',
  'mesh-router',
  'gateway',
  'privacy-proxy',
  'runner',
  'admin-cli',
] as const;
export type BusService = (typeof BUS_SERVICES)[number];
/** A bus identity: a service, or an agent (parametrised by its id and role). */
export type BusRole = BusService | 'agent';

/** The service that serves a context's RPCs and owns its streams. */
export const CONTEXT_OWNERS: Readonly<Record<string, BusService>> = {
  sessions: 'sessions',
  registry: 'registry',
  mesh: 'mesh-router',
  privacy: 'privacy-proxy',
};

export interface RpcAccess {
  readonly rpc: RpcDefinition;
  /** The identities that may call it (publish to its subject). The owner serves it. */
  readonly callers: readonly BusRole[];
}

export interface EventAccess {
  readonly event: EventDefinition;
  /** Contract subjects it is published on, when not the contract subject itself (`<subject>.>`). */
  readonly publishedOn?: readonly string[];
  /** The stream holding it (a base name, as `ensureWorkQueue` takes it); default: the context's. */
  readonly stream?: string;
  /** Read through JetStream consumers of the stream (durable or ordered). */
  readonly streamConsumers?: readonly BusRole[];
  /** Subscribed to on core NATS (cache invalidation, live views). */
  readonly coreSubscribers?: readonly BusRole[];
  /** Consume this event's dead letters (`dlq.<subject>`) from the DLQ stream. */
  readonly deadLetterConsumers?: readonly BusRole[];
  /**
   * The owner also repeats it on core NATS to one subject per task sender (`<subject>.<agentId>`);
   * these subscribe there, an agent only to its own.
   */
  readonly perSender?: { readonly subject: string; readonly subscribers: readonly BusRole[] };
}

const SESSIONS_CALLERS: readonly BusRole[] = ['gateway', 'runner'];
const MESH_CALLERS: readonly BusRole[] = ['gateway', 'agent'];

export const RPC_ACCESS: readonly RpcAccess[] = [
  { rpc: CreateSession, callers: SESSIONS_CALLERS },
  { rpc: GetSession, callers: SESSIONS_CALLERS },
  { rpc: ListSessions, callers: SESSIONS_CALLERS },
  { rpc: ApplySessionEvent, callers: SESSIONS_CALLERS },
  { rpc: ListSessionTransitions, callers: SESSIONS_CALLERS },

  { rpc: RegistryRpc.GetAgent, callers: ['gateway', 'privacy-proxy', 'runner'] },
  { rpc: RegistryRpc.ListAgents, callers: ['gateway'] },
  // The mesh router reads a role's approval rules (issue 23).
  { rpc: RegistryRpc.GetProfile, callers: ['gateway', 'privacy-proxy', 'mesh-router'] },
  { rpc: RegistryRpc.ResolvePolicy, callers: ['mesh-router'] },
  { rpc: RegistryRpc.GetManager, callers: ['gateway', 'mesh-router'] },
  // `head-of:<department>` approvers (issue 23): ids only, where the directory would name everyone.
  { rpc: RegistryRpc.GetDepartmentHead, callers: ['mesh-router'] },
  { rpc: RegistryRpc.RenderConfig, callers: ['gateway', 'runner', 'agent'] },
  // The org directory names every person: the privacy proxy's service identity only (issue 18).
  { rpc: RegistryRpc.GetDirectory, callers: ['privacy-proxy'] },
  // Admins read it through the gateway; the registry verifies the forwarded admin token itself.
  { rpc: RegistryRpc.GetAdminDirectory, callers: ['gateway'] },
  { rpc: RegistryRpc.AssignProfile, callers: ['gateway'] },
  { rpc: RegistryRpc.ImportOrg, callers: ['gateway', 'admin-cli'] },
  { rpc: RegistryRpc.ImportOrgPart, callers: ['gateway', 'admin-cli'] },
  { rpc: RegistryRpc.LoadRegistry, callers: ['gateway'] },
  { rpc: RegistryRpc.AgentHeartbeat, callers: ['gateway', 'runner', 'agent'] },

  { rpc: SendTask, callers: MESH_CALLERS },
  { rpc: RequestApproval, callers: MESH_CALLERS },
  { rpc: Notify, callers: MESH_CALLERS },
  { rpc: GetTask, callers: MESH_CALLERS },
  { rpc: ListTasks, callers: MESH_CALLERS },
  { rpc: UpdateTask, callers: MESH_CALLERS },
  { rpc: Decide, callers: MESH_CALLERS },
  { rpc: CancelTask, callers: MESH_CALLERS },
  // A sender's further input to its open task (an A2A message continuing a task, issue 25).
  { rpc: AddTaskInput, callers: MESH_CALLERS },
  // A person's approvals and delegations: signed-in people reach them through the gateway only.
  { rpc: ListPersonApprovals, callers: ['gateway'] },
  // What a person's event stream may carry (issue 23): the gateway asks with the person's token.
  { rpc: PersonApprovalVisibility, callers: ['gateway'] },
  { rpc: DelegateApprovals, callers: ['gateway'] },
  { rpc: ListDelegations, callers: ['gateway'] },
  { rpc: RevokeDelegation, callers: ['gateway'] },

  // LLM usage (issue 24): through the gateway, which forwards the caller's token; the proxy checks it.
  { rpc: GetUsage, callers: ['gateway'] },
  // Redaction counts (issues 23/24): the same way, the proxy checks the forwarded token.
  { rpc: GetRedactions, callers: ['gateway'] },
  // A bridge's task input to a remote A2A agent, masked by its own role's profile (ADR 0021); the
  // proxy checks the agent token and binds the restore handle to it.
  { rpc: MaskText, callers: ['agent'] },
  { rpc: RestoreText, callers: ['agent'] },
];

// The registry events the privacy proxy and the mesh router drop cached answers on.
const REGISTRY_WATCHERS: readonly BusRole[] = ['privacy-proxy', 'mesh-router'];

export const EVENT_ACCESS: readonly EventAccess[] = [
  { event: SessionCreated, streamConsumers: ['gateway'] },
  { event: SessionTransitioned, streamConsumers: ['gateway'], coreSubscribers: ['runner'] },

  { event: AgentRegistered, streamConsumers: ['gateway'], coreSubscribers: REGISTRY_WATCHERS },
  { event: AgentUpdated, streamConsumers: ['gateway'], coreSubscribers: REGISTRY_WATCHERS },
  { event: AgentRemoved, streamConsumers: ['gateway'], coreSubscribers: REGISTRY_WATCHERS },
  { event: ProfilePublished, streamConsumers: ['gateway'], coreSubscribers: REGISTRY_WATCHERS },
  { event: OrgImported, streamConsumers: ['gateway'], coreSubscribers: REGISTRY_WATCHERS },
  { event: AgentOnline, streamConsumers: ['gateway'] },
  { event: AgentOffline, streamConsumers: ['gateway'] },
  { event: DriftDetected, streamConsumers: ['gateway'] },
  { event: DriftCleared, streamConsumers: ['gateway'] },

  // The sessions service follows both through one durable (`mesh.v1.*`); the router's replicas learn
  // each other's writes on core NATS. An agent hears only the changes of the tasks it sent, on its
  // own `mesh.v1.updates.<agentId>` (and those of the tasks assigned to it, ADR 0021): the event
  // itself carries every task change of the org.
  { event: TaskCreated, streamConsumers: ['gateway', 'sessions'], coreSubscribers: ['mesh-router'] },
  {
    event: TaskUpdated,
    streamConsumers: ['gateway', 'sessions'],
    coreSubscribers: ['mesh-router'],
    perSender: { subject: MESH_UPDATES_SUBJECT, subscribers: ['agent'] },
  },
  // An agent reads only its own role's and its own inbox (busPermissions confines it).
  {
    event: InboxDelivery,
    publishedOn: MESH_INBOX_SUBJECTS,
    stream: MESH_INBOX_STREAM,
    streamConsumers: ['agent'],
    deadLetterConsumers: ['mesh-router'],
  },

  { event: PrivacyRedacted },
  // The mesh router notifies the warned role's manager (ADR 0016): one durable, deduped by the warning's id.
  { event: PrivacyBudgetWarning, streamConsumers: ['mesh-router'] },
];

/**
 * A stream a service keeps for itself, not an event stream: only its owner creates it, writes its
 * subjects, reads single messages (`STREAM.MSG.GET`) and purges them.
 */
export interface StoreAccess {
  readonly owner: BusService;
  /** The stream's base name (a context name, as `bus.streamName` takes it). */
  readonly stream: string;
  /** Its subjects, without the namespace prefix. */
  readonly subjects: readonly string[];
}

/** A2A push-notification configs (issue 25, ADR 0018): one subject per config, shared by the gateway's replicas. */
export const A2A_PUSH_STREAM = 'a2a-push';
export const A2A_PUSH_SUBJECT_ROOT = 'a2a.push.v1';

export const STORE_ACCESS: readonly StoreAccess[] = [
  { owner: 'gateway', stream: A2A_PUSH_STREAM, subjects: [`${A2A_PUSH_SUBJECT_ROOT}.>`] },
];

/** The access entry of an RPC subject, if any. */
export function rpcAccess(subject: string): RpcAccess | undefined {
  return RPC_ACCESS.find((a) => a.rpc.subject === subject);
}

/** The access entry of an event subject, if any. */
export function eventAccess(subject: string): EventAccess | undefined {
  return EVENT_ACCESS.find((a) => a.event.subject === subject);
}
