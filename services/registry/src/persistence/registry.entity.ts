import type { ConfigFormat, RegistrySourceFile } from '@orgmesh/contracts';

/** Rows of the registry schema as the pg driver returns them. They never leave the service. */

export interface RegistryVersionRow {
  version: number;
  source_hash: string;
  digest: string;
  files: RegistrySourceFile[];
  loaded_by: string;
  loaded_at: Date;
}

export interface ProfileSignatureRow {
  profile_id: string;
  version: number;
  jws: string;
  kid: string;
}

export interface PresenceRow {
  agent_id: string;
  online: boolean;
  /** Null until the agent's first heartbeat (a placeholder row exists so heartbeats can lock it). */
  last_heartbeat_at: Date | null;
  config_hash: string | null;
  format: ConfigFormat | null;
  drift: boolean;
}

export interface OrgUserRow {
  user_id: string;
  reports_to_id: string | null;
  name: string;
  role: string;
  email: string;
  department: string;
  depth: number;
  org_version: number;
}

export interface ProfileAssignmentRow {
  user_id: string;
  profile_id: string;
  role: string;
  assigned_by: string;
  assigned_at: Date;
}
