import { AppError, type PRIVACY_OUTCOMES, type PRIVACY_REFUSALS } from '@orgmesh/contracts';
import type { EntityCounts } from '@orgmesh/privacy';
import type { CollectedRequest } from '../providers/request-walker.js';

export type PrivacyOutcome = (typeof PRIVACY_OUTCOMES)[number];
export type PrivacyRefusal = (typeof PRIVACY_REFUSALS)[number];

/** What the masking session of one request found and did, per entity type (never values). */
export interface SessionFindings {
  readonly counts: EntityCounts;
  readonly masked: EntityCounts;
  readonly strictTypes: readonly string[];
}

/**
 * What happened to one request, honestly: per entity type what was masked, what was let through by
 * the profile (`detect`), what refused it (`strict`); binary parts forwarded unscanned; and why it is
 * refused, if it is.
 */
export interface RequestReport {
  readonly counts: Record<string, number>;
  readonly masked: Record<string, number>;
  readonly passed: Record<string, number>;
  readonly refused: Record<string, number>;
  readonly unscanned: Record<string, number>;
  readonly refusal: PrivacyRefusal | undefined;
  readonly outcome: PrivacyOutcome;
  /** Whether there is anything to audit: a finding, an unscanned part, or a refusal. */
  readonly notable: boolean;
  readonly refusedMedia: readonly string[];
  /** Values in unknown fields that are not text (see CollectedRequest.unscannableUnknown). */
  readonly unscannableUnknown: number;
}

export function reportRequest(
  findings: SessionFindings,
  collected: CollectedRequest,
  applied: { readonly unmaskable: number } | undefined,
): RequestReport {
  const counts = positive(findings.counts);
  const masked = positive(findings.masked);
  const strict = new Set(findings.strictTypes);
  const passed: Record<string, number> = {};
  const refused: Record<string, number> = {};
  for (const [type, n] of Object.entries(counts)) {
    if (strict.has(type)) refused[type] = n;
    else {
      // Every occurrence not masked went out as it was: the `detect` action.
      const raw = n - (masked[type] ?? 0);
      if (raw > 0) passed[type] = raw;
    }
  }
  const unscanned = Object.fromEntries(collected.unscanned);
  const refusedMedia = [...collected.refusedBinary.keys()].sort();
  const refusal: PrivacyRefusal | undefined =
    strict.size > 0
      ? 'entities'
      : collected.unknownRefused
        ? 'unknown_fields'
        : refusedMedia.length > 0
          ? 'binary_content'
          : (applied?.unmaskable ?? 0) > 0
            ? 'unmaskable_value'
            : undefined;
  const anyMasked = Object.keys(masked).length > 0;
  const anyPassed = Object.keys(passed).length > 0;
  const outcome: PrivacyOutcome = refusal
    ? 'refused'
    : anyMasked && anyPassed
      ? 'partially_masked'
      : anyPassed
        ? 'detected'
        : anyMasked
          ? 'masked'
          : 'unscanned';
  const notable =
    refusal !== undefined || Object.keys(counts).length > 0 || Object.keys(unscanned).length > 0;
  return {
    counts,
    masked,
    passed,
    refused,
    unscanned,
    refusal,
    outcome,
    notable,
    refusedMedia,
    unscannableUnknown: collected.unscannableUnknown,
  };
}

/** The 422 a refused request gets: what refused it, as entity types or media types, never values. */
export function refusalError(report: RequestReport, role: string, strictTypes: readonly string[]): AppError {
  const policy = `request refused by the privacy policy of role ${role}`;
  switch (report.refusal) {
    case 'entities':
    case undefined:
      return new AppError('privacy_strict_refused', `${policy}: it contains ${strictTypes.join(', ')}`, {
        details: { entity_types: strictTypes, reason: 'entities' },
      });
    case 'binary_content':
      return new AppError(
        'privacy_strict_refused',
        `${policy}: it holds binary content the proxy cannot scan (${report.refusedMedia.join(', ')})`,
        { details: { entity_types: [], reason: report.refusal, media_types: report.refusedMedia } },
      );
    case 'unknown_fields':
      return new AppError(
        'privacy_strict_refused',
        report.unscannableUnknown > 0
          ? `${policy}: fields the proxy does not know hold values it cannot scan (a number, boolean or null)`
          : `${policy}: it has fields the proxy does not know`,
        { details: { entity_types: [], reason: report.refusal } },
      );
    case 'unmaskable_value':
      return new AppError(
        'privacy_strict_refused',
        `${policy}: a number holds personal data (${Object.keys(report.counts).sort().join(', ')}) and cannot carry a placeholder`,
        { details: { entity_types: Object.keys(report.counts).sort(), reason: report.refusal } },
      );
  }
}

function positive(counts: EntityCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts)) if (v && v > 0) out[k] = v;
  return out;
}
