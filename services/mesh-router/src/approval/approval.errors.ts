import { AppError, type PersonDecision } from '@orgmesh/contracts';

/** 409: the caller (or the person they stand in for) already decided; names that decision. */
export function alreadyDecided(id: string, earlier: PersonDecision): AppError {
  const by = earlier.onBehalfOf ? `${earlier.userId} for ${earlier.onBehalfOf}` : earlier.userId;
  return new AppError(
    'approval_already_decided',
    `approval ${id} was already decided by ${by}: ${earlier.decision} at ${earlier.decidedAt}`,
    { details: { id, earlierDecision: earlier } },
  );
}

/** 403: not a person of the waiting step nor their delegate; names the rule. */
export function notYourApproval(id: string, rule: string, who: string, why: string): AppError {
  return new AppError('forbidden', `${who} may not decide approval ${id} (rule: ${rule}): ${why}`, {
    details: { id, rule, action: 'decide' },
  });
}

/** An approval routed to people is over (decided by others, denied at the end of its chain). */
export function approvalEnded(id: string, rule: string, status: string): AppError {
  return new AppError(
    'task_illegal_transition',
    `approval ${id} (rule: ${rule}) is ${status}: it accepts no decision`,
    {
      details: { id, rule, currentState: status, event: 'decide', allowedEvents: [] },
    },
  );
}

/** A person's token reaches only the approval RPCs. */
export function peopleDecideOnly(action: string): AppError {
  return new AppError(
    'forbidden',
    `a person may not ${action}: people decide approvals; agents send and work on tasks`,
    {
      details: { action },
    },
  );
}

export function invalidDelegation(message: string, path: string): AppError {
  return new AppError('validation_failed', message, { details: { issues: [{ path, message }] } });
}

/** `head-of:<department>` names a department nobody in the org chart belongs to (ADR 0019: skipped at planning, audited). */
export function departmentWithoutHead(department: string): AppError {
  return new AppError('not_found', `department "${department}" has nobody in the org chart to head it`, {
    details: { department },
  });
}

export function isDepartmentWithoutHead(error: unknown): error is AppError {
  return error instanceof AppError && error.code === 'not_found' && typeof error.details?.['department'] === 'string';
}
