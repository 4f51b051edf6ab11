import { Section } from '../ui';

/**
 * Redaction counts per role and entity type need an endpoint that serves them; none exists yet, so
 * the page says so rather than show numbers it does not have.
 */
export function PrivacyPage() {
  return (
    <Section title="Privacy">
      <p>
        <strong>Not available yet.</strong> This page is meant to show how many values the privacy proxy
        redacted, per role and entity type, over time (counts only, never the values).
      </p>
      <p>
        What is missing: the gateway has no route that serves these counts. The privacy proxy records its
        redactions in its audit; a read-only endpoint of aggregated counts (for example{' '}
        <code>GET /v1/privacy/redactions?by=role,entity</code>) has to be added before the console can show
        them. No numbers are shown here until then.
      </p>
    </Section>
  );
}
