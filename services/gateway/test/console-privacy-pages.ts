import type { Page } from 'playwright-core';
import { expect } from '@jest/globals';
import { connectBus } from '@orgmesh/messaging';
import type { TestContext } from '@orgmesh/testing';
import {
  JoseTokenVerifier,
  MemoryRedactionStore,
  MemoryUsageStore,
  RedactionRecorder,
  SEEDED_TEXT,
  serveRedactions,
  serveUsage,
  startHarness,
} from '@orgmesh/privacy-proxy/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { devToken, silentLogger } from './gateway-harness.js';

/**
 * What the console's Privacy and Usage pages read, made for real: the privacy proxy (its harness:
 * real masking, the recording fake provider) trusting this gateway's issuer, model calls from the
 * demo agents' tokens — finance masks, manager only detects, legal refuses — and the proxy's own
 * handlers of rpc.privacy.v1.get-redactions and get-usage on this test's NATS namespace.
 */
export async function startPrivacyData(
  ctx: TestContext,
  gateway: GatewayApp,
): Promise<{ close(): Promise<void> }> {
  const verifier = JoseTokenVerifier.fromJwksUrl(`${gateway.url}/.well-known/jwks.json`, {
    issuer: gateway.identity.issuer,
    audience: gateway.identity.audience,
  });
  const redactions = new RedactionRecorder(new MemoryRedactionStore(), silentLogger);
  const usage = new MemoryUsageStore();
  const proxy = await startHarness({}, { verifier, extraAudit: redactions, governance: { usage } });
  const bus = await connectBus({
    url: ctx.natsUrl,
    name: 'privacy-proxy',
    subjectPrefix: ctx.subjectPrefix,
    nameSuffix: ctx.nameSuffix,
    logger: silentLogger,
  });
  serveUsage(bus, { usage, recorder: proxy.governor!.recorder, verifier });
  serveRedactions(bus, { redactions: redactions.store, recorder: redactions, verifier });
  await bus.nc.flush();
  const statuses: number[] = [];
  for (const agent of ['finance-agent', 'finance-agent', 'manager-agent', 'legal-agent']) {
    const res = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await devToken(gateway, agent)}`,
      },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: SEEDED_TEXT }] }),
    });
    await res.text();
    statuses.push(res.status);
  }
  // Masked, masked, detected (let through); legal's strict profile refuses.
  expect(statuses).toEqual([200, 200, 200, 422]);
  return {
    async close() {
      await proxy.close();
      await redactions.stop();
      await bus.close();
    },
  };
}

/** The Privacy and Usage pages with an operator's token: the counts above, by keyboard, at phone width and dark. */
export async function visitPrivacyAndUsage(ops: Page, shot: (name: string, target: Page) => Promise<void>) {
  await ops.getByRole('link', { name: 'Privacy' }).click();
  const privacy = ops.getByRole('region', { name: 'Redactions per role and entity type' });
  // Per role × entity type over the range: masked, let through, refused, total.
  await privacy.getByRole('row', { name: /^finance email 2 0 0 2$/ }).waitFor({ timeout: 15_000 });
  await privacy.getByRole('row', { name: /^manager email 0 1 0 1$/ }).waitFor();
  await privacy.getByRole('row', { name: /^legal email 0 0 1 1$/ }).waitFor();
  await privacy.getByRole('img', { name: /^Findings per hour: \d+ over 25 hours$/ }).waitFor();
  await shot('privacy', ops);

  // By keyboard: a role in the filter, Enter asks for it.
  await ops.getByRole('textbox', { name: 'Role' }).focus();
  await ops.keyboard.type('manager');
  await ops.keyboard.press('Enter');
  await privacy
    .getByRole('row', { name: /^finance / })
    .first()
    .waitFor({ state: 'detached', timeout: 15_000 });
  await privacy.getByRole('row', { name: /^manager email 0 1 0 1$/ }).waitFor();

  await ops.setViewportSize({ width: 390, height: 844 });
  await ops.emulateMedia({ colorScheme: 'dark' });
  await shot('privacy-phone-dark', ops);
  await ops.setViewportSize({ width: 1280, height: 860 });
  await ops.emulateMedia({ colorScheme: 'light' });

  await ops.getByRole('link', { name: 'Usage' }).click();
  const usage = ops.getByRole('region', { name: 'Usage per agent' });
  // The fake provider reports 10 input and 20 output tokens a call; the refused call never reached it.
  await usage.getByRole('row', { name: /^finance-agent 2 20 40 \$/ }).waitFor({ timeout: 15_000 });
  await usage.getByRole('row', { name: /^manager-agent 1 10 20 \$/ }).waitFor();
  await usage.getByRole('row', { name: /^All 3 30 60 \$/ }).waitFor();
  await ops.getByRole('combobox', { name: /^Per/ }).selectOption('model');
  await ops
    .getByRole('region', { name: 'Usage per model' })
    .getByRole('row', { name: /^gpt-4o-mini 3 30 60 \$/ })
    .waitFor();
  await ops.getByRole('combobox', { name: /^Per/ }).selectOption('agentId');
  await usage.getByRole('img', { name: /^Tokens per hour: 90 over 25 hours$/ }).waitFor();
  await shot('usage', ops);
}
