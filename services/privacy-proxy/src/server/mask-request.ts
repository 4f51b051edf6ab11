import { binaryRuleOf, jsonStringContent, type Restorer } from '@orgmesh/privacy';
import type { VerifiedToken } from '../auth/token-verifier.js';
import { refusalError, reportRequest, type RequestReport } from '../privacy/request-report.js';
import type { PrivacyProxyMetrics } from '../privacy-proxy.metrics.js';
import { collectRequest } from '../providers/request-walker.js';
import type { CallerPrivacy, ProxyContext } from './context.js';
import type { Exchange } from './exchange.js';
import { auditRequest } from './privacy-audit.js';

/** Response header: entity types the caller's profile let through unmasked (`detect`), never values. */
export const PASSED_HEADER = 'orgmesh-privacy-passed';
/** Response header: media types of binary parts forwarded unscanned (profile `binary: allow`). */
export const UNSCANNED_HEADER = 'orgmesh-privacy-unscanned';

/** The request as it goes upstream, and how to restore the answer (none: nothing to restore). */
export interface MaskedRequest {
  readonly body: string;
  readonly query: string;
  readonly restorer: Restorer | undefined;
  readonly jsonRestorer: Restorer | undefined;
  /**
   * Counts the findings and emits the audit event: for the caller to run once the call is on its
   * way upstream (completion.ts), off the request's path. Values never reach either.
   */
  readonly record: () => void;
}

/**
 * The detect/mask unit: every field of `document` (mutated in place) and the query by the channel
 * table, all texts in ONE masking call so values split across parts and messages are seen together.
 * Throws the refusal when the profile refuses (counted and audited first); otherwise says how to
 * count and audit the findings (`record`).
 */
export async function maskRequest(
  ctx: ProxyContext,
  x: Exchange,
  verified: VerifiedToken,
  document: Record<string, unknown>,
  query: string,
  privacy: CallerPrivacy,
  restoreAnswer: boolean,
): Promise<MaskedRequest> {
  const session = privacy.session;
  const profile = privacy.profile;
  const collected = collectRequest(document, query, {
    binary: binaryRuleOf(profile),
    unknownFields: profile.unknownFields ?? 'scan',
  });
  // Refused for its unknown fields: nothing is scanned, nothing forwarded.
  const applied = collected.unknownRefused
    ? undefined
    : collected.apply(await session.processAllAsync(collected.texts));
  const report = reportRequest(session, collected, applied);
  const record = () => {
    recordFindings(ctx.metrics, report);
    if (report.notable) auditRequest(ctx, { verified, x, mode: profile.mode, report, endpoint: x.route });
  };
  if (x.genai) {
    // Counts only, never what was found.
    x.genai['orgmesh.privacy.masked_count'] = sum(report.masked);
    x.genai['orgmesh.privacy.passed_count'] = sum(report.passed);
    x.genai['orgmesh.privacy.refused_count'] = sum(report.refused);
  }
  if (report.notable) {
    x.log['outcome'] = report.outcome;
    x.log['entities'] = session.total;
    if (report.refusal) x.log['refusal'] = report.refusal;
  }
  if (report.refusal || !applied) {
    record();
    ctx.metrics.refusals.inc({ route: x.route });
    throw refusalError(report, verified.role, session.strictTypes);
  }
  // Types and media types only, never values: what the caller's profile let out as it was.
  const passed = Object.keys(report.passed).sort();
  if (passed.length > 0) x.res.setHeader(PASSED_HEADER, passed.join(','));
  const unscanned = Object.keys(report.unscanned).sort();
  if (unscanned.length > 0) x.res.setHeader(UNSCANNED_HEADER, unscanned.join(','));
  const restore = session.mapping.size > 0 && restoreAnswer;
  return {
    // Always the document that was scanned, never the raw bytes: a duplicate key
    // (`{"content":"<value>","content":"hi"}`) parses to its last value, and the raw bytes would carry
    // the first one out unscanned (and a provider's parser may read that one).
    body: JSON.stringify(document),
    query: applied.query,
    restorer: restore ? session.restorer() : undefined,
    jsonRestorer: restore ? session.restorer({ encode: jsonStringContent }) : undefined,
    record,
  };
}

/**
 * OpenAI sends a stream's usage only when asked: the proxy asks (in `document`, before masking, so the
 * body is serialised once) and says whether that extra chunk is to be dropped again for a client
 * that did not ask for it.
 */
export function askForStreamUsage(document: Record<string, unknown>): boolean {
  if (document['stream'] !== true) return false;
  const options = document['stream_options'];
  const asked =
    typeof options === 'object' &&
    options !== null &&
    (options as Record<string, unknown>)['include_usage'] === true;
  if (asked) return false;
  document['stream_options'] = {
    ...(typeof options === 'object' && options !== null ? options : {}),
    include_usage: true,
  };
  return true;
}

function recordFindings(metrics: PrivacyProxyMetrics, report: RequestReport): void {
  for (const [type, n] of Object.entries(report.masked))
    metrics.redactions.inc({ entity_type: type, action: 'mask' }, n);
  for (const [type, n] of Object.entries(report.passed))
    metrics.redactions.inc({ entity_type: type, action: 'detect' }, n);
  for (const [type, n] of Object.entries(report.refused))
    metrics.redactions.inc({ entity_type: type, action: 'strict' }, n);
  for (const [media, n] of Object.entries(report.unscanned)) metrics.unscanned.inc({ media_type: media }, n);
}

function sum(counts: Record<string, number>): number {
  let total = 0;
  for (const n of Object.values(counts)) total += n;
  return total;
}
