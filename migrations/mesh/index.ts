import { CreateMesh1733000000000 } from './1733000000000-create-mesh.js';
import { RetentionIndexes1736000000000 } from './1736000000000-retention-indexes.js';
import { Redelivery1737000000000 } from './1737000000000-redelivery.js';
import { ApprovalsToPeople1738000000000 } from './1738000000000-approvals-to-people.js';
import { PersonApprovalsPaging1739000000000 } from './1739000000000-person-approvals-paging.js';
import { TasksToAgentIndex1740000000000 } from './1740000000000-tasks-to-agent-index.js';

export const MESH_SCHEMA = 'mesh';
export const MESH_MIGRATIONS = [
  CreateMesh1733000000000,
  RetentionIndexes1736000000000,
  Redelivery1737000000000,
  ApprovalsToPeople1738000000000,
  PersonApprovalsPaging1739000000000,
  TasksToAgentIndex1740000000000,
];
