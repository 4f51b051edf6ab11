import type { ApprovalRule, OrgUser } from '@orgmesh/contracts';

/**
 * What approvals to people need from the registry (ADR 0019): people and their managers from the
 * org chart, and a role's approval rules from its profile. The domain depends on this port only.
 */
export interface OrgChartPort {
  /** The person, or null when the org chart does not know them (left the org). */
  person(userId: string): Promise<OrgUser | null>;
  /**
   * The manager of a person, an agent (the person heading the agent's role) or a role (the person
   * heading it); null at the top of the chart or when nobody is known by that id.
   */
  managerOf(id: string): Promise<OrgUser | null>;
  /** The person heading a role (or the person with that user id); null when unknown. */
  headOf(id: string): Promise<OrgUser | null>;
  /**
   * The head of a department anywhere in the org chart (its topmost person). Throws
   * `departmentWithoutHead` (not_found, details.department) when nobody in the chart belongs to it.
   */
  headOfDepartment(department: string): Promise<OrgUser>;
  /** The approval rules of the role's default profile, with the profile id (`[]` when none). */
  rulesOf(role: string): Promise<{ profileId: string; rules: ApprovalRule[] }>;
}
