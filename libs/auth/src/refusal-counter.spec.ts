import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { createMetricsRegistry, metricConventionViolations } from '@orgmesh/telemetry';
import { createJwtVerifier } from './jwt-verifier.js';
import { callersRefusedCounter, countingRefusals } from './refusal-counter.js';
import { LocalIssuer } from './test-issuer.js';

describe('refused-caller counter', () => {
  it('counts each refusal by code, passes verified callers through uncounted, and follows the naming rules', async () => {
    const registry = createMetricsRegistry('mesh-router');
    const issuer = await LocalIssuer.create();
    const verifier = countingRefusals(
      createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks }),
      callersRefusedCounter(registry),
    );
    const principal = await verifier.verify(`Bearer ${await issuer.sign({ sub: 'a', role: 'finance' })}`);
    expect(principal.subject).toBe('a');
    for (const token of [undefined, 'Bearer not-a-jwt']) {
      await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'unauthenticated' });
    }
    // A failure that is not an AppError is counted as internal and rethrown unchanged.
    const broken = countingRefusals(
      { verify: () => Promise.reject(new Error('boom')) },
      callersRefusedCounter(registry),
    );
    await expect(broken.verify('x')).rejects.toThrow('boom');
    await expect(
      countingRefusals(
        { verify: () => Promise.reject(new AppError('forbidden', 'no')) },
        callersRefusedCounter(registry),
      ).verify('x'),
    ).rejects.toMatchObject({ code: 'forbidden' });

    const text = await registry.metrics();
    expect(text).toMatch(
      /^orgmesh_callers_refused_total\{code="unauthenticated",service="mesh-router"\} 2$/m,
    );
    expect(text).toMatch(/^orgmesh_callers_refused_total\{code="internal",service="mesh-router"\} 1$/m);
    expect(text).toMatch(/^orgmesh_callers_refused_total\{code="forbidden",service="mesh-router"\} 1$/m);
    expect(text).not.toContain('not-a-jwt');
    expect(await metricConventionViolations(registry)).toEqual([]);
  });
});
