import { randomUUID } from 'node:crypto';
import type { PrivacyRedactedPayload } from '@orgmesh/contracts';
import type { VerifiedToken } from '../auth/token-verifier.js';
import type { RequestReport } from '../privacy/request-report.js';
import type { ProxyContext } from './context.js';
import { headerValue, idShaped, SESSION_HEADER, type Exchange } from './exchange.js';

/** The audit unit: one `privacy.redacted` event for a request whose findings are notable. */
export function auditRequest(
  ctx: ProxyContext,
  input: {
    verified: VerifiedToken;
    x: Exchange;
    mode: PrivacyRedactedPayload['mode'];
    report: RequestReport;
    endpoint: string;
  },
): void {
  const report = input.report;
  // Id-shaped only: the audit holds no free text a client wrote (an address as a session id).
  const sessionId = idShaped(headerValue(input.x.req, SESSION_HEADER), 200);
  const event: PrivacyRedactedPayload = {
    eventId: randomUUID(),
    role: input.verified.role,
    agentId: input.verified.sub,
    ...(sessionId ? { sessionId } : {}),
    tenant: input.verified.tenant,
    mode: input.mode,
    outcome: report.outcome,
    counts: report.counts,
    maskedCounts: report.masked,
    passedCounts: report.passed,
    refusedCounts: report.refused,
    ...(Object.keys(report.unscanned).length > 0 ? { unscanned: report.unscanned } : {}),
    ...(report.refusal ? { refusal: report.refusal } : {}),
    endpoint: input.endpoint,
    occurredAt: new Date().toISOString(),
  };
  try {
    ctx.options.audit.emit(event);
  } catch (error) {
    ctx.logger.error(
      { requestId: input.x.requestId, err: error instanceof Error ? error.name : 'unknown' },
      'audit sink failed',
    );
  }
}
