/** The shapes the console reads from the gateway (the contracts in libs/contracts, trimmed to what it shows). */
export interface Party {
  agentId?: string | null;
  role: string;
  userId?: string | null;
}

export interface Task {
  id: string;
  kind: 'task' | 'approval' | 'notification';
  from: Party;
  to: Party;
  assignee: Party | null;
  type: string | null;
  subject: string | null;
  input: unknown;
  details: unknown;
  message: string | null;
  priority: string;
  state: string;
  reason: string | null;
  contextId: string;
  deadline: string;
  escalateAt: string | null;
  result: unknown;
  decision: {
    decision: string;
    comment: string | null;
    decidedBy?: Party & { userId?: string };
    decidedAt: string;
  } | null;
  escalatedTo: unknown;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface ApprovalPerson {
  userId: string;
  name: string | null;
  role: string | null;
}

/** An approval routed to people (the mesh's person view, GET /v1/approvals?awaiting=me). */
export interface PersonApproval {
  task: Task;
  rule: string;
  status: string;
  step: number;
  stepDeadline: string;
  steps?: Array<{ kind: string; approvers: ApprovalPerson[]; quorum: number; deadlineMs: number }>;
  awaiting: ApprovalPerson[];
  escalationPath: ApprovalPerson[];
  decisions: Array<{
    userId: string;
    onBehalfOf: string | null;
    decision: string;
    comment: string | null;
    rule: string;
    decidedAt: string;
  }>;
  onBehalfOf: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

export interface SessionRow {
  id: string;
  agentId: string;
  role: string;
  contextId: string;
  status: string;
  updatedAt: string;
  createdAt: string;
}

export interface Presence {
  online: boolean;
  lastSeenAt: string | null;
  reportedConfigHash: string | null;
  drift: boolean;
}

export interface Agent {
  id: string;
  role: string;
  profile?: string | null;
  displayName?: string;
  description?: string;
  model?: { provider: string; name: string };
}

export interface EventEnvelope {
  subject: string;
  sequence: number;
  eventId: string | null;
  publishedAt: string;
  payload: unknown;
}
