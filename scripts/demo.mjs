// `npm run demo`: the Finance → Manager → Legal scenario against the running suite (`npm start`),
// or against one it boots for the occasion (and stops afterwards). Prints a readable timeline of the
// workflow: tasks, session transitions, redaction counts per entity type. Exits 0 only if every step
// of the scenario happened and no seeded personal value reached the model.
//   DEMO_GATEWAY_URL (default http://127.0.0.1:8080), DEMO_PROXY_URL (http://127.0.0.1:8090),
//   DEMO_TIMEOUT (seconds, default 120), DEMO_LIVE=1 prints lifecycle events as they arrive.
// `npm run demo -- --oidc`: the same scenario in production identity mode (docs/identity.md). It starts
// a real OpenID provider (the `oidc-provider` package, as the tests do) and boots the suite with
// AUTH_MODE=oidc: every service verifies the provider's tokens and every party (the agents, the Finance
// person who asks, the observer) gets its token from it by client_credentials. It always boots its own
// suite, so nothing may be running on the suite's ports.
// `npm run demo -- --human`: the demo with a person (issue 23, ADR 0019). The request asks that a
// person decide; the Manager agent hands the approval on (input-required) and the manager profile's
// rule routes it to the person heading Finance's reporting line (Yara Quinn, u00002). The demo prints
// who decides and the console URL, and waits — DEMO_HUMAN_TIMEOUT seconds (default 600) — for that
// person to sign in at /console/ (dev password printed by npm start) and decide; Finance then completes.
// `npm run demo -- --help`: this usage.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { runScenario, renderTimeline, SEEDED_PII_VALUES, SCENARIO_EMPLOYEE, DEMO_OIDC_AUDIENCE, demoOidcClients, oidcScenarioTokens } =
  await import('../e2e/dist/index.js');
const args = process.argv.slice(2);
const USAGE = `usage: npm run demo [-- --human | --oidc | --help]

  (no flag)  the Finance → Manager → Legal scenario, fully automatic: the Manager agent approves
  --human    a person decides: the Manager agent hands the $125K approval on, the manager profile's
             rule routes it to the head of Finance's reporting line; the demo prints the console URL
             and waits (DEMO_HUMAN_TIMEOUT seconds, default 600) for that person to approve or reject
             at /console/ (sign in with the dev password npm start printed for them)
  --oidc     the automatic scenario in production identity mode (a real OpenID provider)

environment: DEMO_GATEWAY_URL (http://127.0.0.1:8080), DEMO_PROXY_URL (http://127.0.0.1:8090),
             DEMO_TIMEOUT (seconds, 120), DEMO_HUMAN_TIMEOUT (seconds, 600), DEMO_LIVE=1 (live events)`;
const unknown = args.filter((a) => !['--oidc', '--human', '--help', '-h'].includes(a));
if (args.includes('--help') || args.includes('-h') || unknown.length) {
  if (unknown.length) process.stderr.write(`orgmesh demo: unknown option ${unknown.join(' ')}\n`);
  (unknown.length ? process.stderr : process.stdout).write(`${USAGE}\n`);
  process.exit(unknown.length ? 2 : 0);
}
const oidcMode = args.includes('--oidc');
const humanMode = args.includes('--human');
if (oidcMode && humanMode) {
  // The console's sign-in of people is the dev issuer's; in OIDC mode the provider would sign people in (not wired in the demo).
  process.stderr.write('orgmesh demo: --human and --oidc do not combine (people sign in at the dev issuer); run one of them\n');
  process.exit(2);
}

const gatewayUrl = (process.env.DEMO_GATEWAY_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const proxyUrl = (process.env.DEMO_PROXY_URL ?? 'http://127.0.0.1:8090').replace(/\/+$/, '');
// What the scripted model received, as `npm start` has it record (see scripts/start.mjs).
const recordFile =
  process.env.DEMO_MODEL_RECORD_FILE ?? join(root, '.orgmesh', 'scripted-model-requests.jsonl');
const timeoutMs = Number((humanMode ? process.env.DEMO_HUMAN_TIMEOUT : process.env.DEMO_TIMEOUT) ?? (humanMode ? 600 : 120)) * 1000;
const began = Date.now();
const say = (line = '') => process.stdout.write(`${line}\n`);

async function answers(url) {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1_500) })).ok;
  } catch {
    return false;
  }
}

/** Boots `scripts/start.mjs` and resolves when it reports ready; its output is kept for a failure. */
function bootSuite(extraEnv = {}) {
  const child = spawn(process.execPath, [join(root, 'scripts/start.mjs')], {
    cwd: root,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the suite did not report ready within 180 s')), 180_000);
    const onLine = (chunk) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        output.push(line);
        const match = /ready in ([\d.]+) s/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      }
    };
    child.stdout.on('data', onLine);
    child.stderr.on('data', onLine);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before it was ready`));
    });
  });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
    });
  return { ready, stop, output };
}

/**
 * OIDC mode: a provider on a free loopback port that knows the demo's clients (one secret for all,
 * generated per run), and the environment that boots the suite against it.
 */
async function startProvider() {
  const { startOidcProvider } = await import('../libs/testing/dist/index.js');
  const secret = randomBytes(24).toString('base64url');
  const provider = await startOidcProvider({ audience: DEMO_OIDC_AUDIENCE, clients: demoOidcClients(secret) });
  const env = {
    AUTH_MODE: 'oidc',
    AUTH_ISSUER: provider.issuer,
    AUTH_AUDIENCE: DEMO_OIDC_AUDIENCE,
    AUTH_JWKS_URL: provider.jwksUrl,
    ORGMESH_OIDC_ISSUER: provider.issuer,
    ORGMESH_OIDC_CLIENT_SECRET: secret,
    ORGMESH_OIDC_SCOPE: 'orgmesh:agent',
  };
  return { provider, secret, env };
}

let suite;
let oidc;
let exitCode = 1;
try {
  if (oidcMode) {
    if (await answers(`${gatewayUrl}/readyz`))
      throw new Error(
        `a suite already answers at ${gatewayUrl}; --oidc boots its own in OIDC mode: stop that one (Ctrl-C on npm start) and run again`,
      );
    oidc = await startProvider();
    say(`orgmesh demo (OIDC mode) — OpenID provider (oidc-provider) at ${oidc.provider.issuer}; booting the suite with AUTH_MODE=oidc…`);
    suite = bootSuite(oidc.env);
    try {
      const seconds = await suite.ready;
      say(`  suite ready in ${seconds} s; every token below comes from the provider`);
    } catch (error) {
      say(suite.output.slice(-30).join('\n'));
      throw error;
    }
  } else if (await answers(`${gatewayUrl}/readyz`)) {
    say(`orgmesh demo — using the suite running at ${gatewayUrl}`);
  } else {
    say(`orgmesh demo — nothing answers at ${gatewayUrl}: booting the suite (npm start) for this run…`);
    suite = bootSuite();
    try {
      const seconds = await suite.ready;
      say(`  suite ready in ${seconds} s`);
    } catch (error) {
      say(suite.output.slice(-30).join('\n'));
      throw error;
    }
  }
  const recordedBefore = existsSync(recordFile) ? statSync(recordFile).size : undefined;

  say('');
  say(
    'Scenario: Finance asks the Manager to approve a $125K Q1 engineering budget; the request names an employee',
  );
  say(
    `  (${SCENARIO_EMPLOYEE.name}, ${SCENARIO_EMPLOYEE.email}, SSN ${SCENARIO_EMPLOYEE.ssn}, IBAN ${SCENARIO_EMPLOYEE.iban}).`,
  );
  say(
    humanMode
      ? "  With a person (--human): the request asks that a person decide; the Manager agent hands the approval on,\n  the manager profile's rule routes it to the head of Finance's reporting line, that person approves in the console, Finance completes."
      : '  The Manager consults Legal for a SOX review, Legal answers, the Manager approves, Finance completes.',
  );
  say('');
  // Counted from the request to Finance, as DEMO_HUMAN_TIMEOUT is.
  const waited = (ms) => `waited ${(ms / 1000).toFixed(0)} s`;
  const human = humanMode
    ? {
        onAwaitingPerson: (who) => {
          const password = suite?.output
            .map((line) => new RegExp(`^\\s+${who.userId}\\s+(\\S+)\\s`).exec(line)?.[1])
            .find(Boolean);
          say(`Waiting for a person: ${who.name ?? who.userId} (${who.userId}, ${who.role}) decides "${who.subject ?? who.approvalId}".`);
          say(`  Open the console: ${gatewayUrl}/console/`);
          say(
            password
              ? `  Sign in as ${who.userId} with the dev password ${password}, then Approve (or Reject) it in the inbox.`
              : `  Sign in as ${who.userId} with the dev password npm start printed for them (its "people of the org chart" lines), then Approve (or Reject) it in the inbox.`,
          );
          say(`  Waiting up to ${Math.round(timeoutMs / 1000)} s (DEMO_HUMAN_TIMEOUT)…`);
        },
        onStillWaiting: (waitedMs, who) =>
          say(
            who
              ? `  … still waiting for ${who.name ?? who.userId} (${who.userId}) to decide at ${gatewayUrl}/console/ (${waited(waitedMs)})`
              : `  … waiting for the Manager agent to hand the approval to a person (${waited(waitedMs)})`,
          ),
      }
    : undefined;
  const report = await runScenario({
    gatewayUrl,
    proxyUrl,
    timeoutMs,
    // A Claude Code agent (Anthropic model) asks the model through the proxy too; its check is step 6.
    claudeCodeAgent: { clientId: 'contracts-agent', clientSecret: oidc ? oidc.secret : 'contracts-agent-dev-secret' },
    ...(human ? { human } : {}),
    onLive: process.env.DEMO_LIVE
      ? (line) => say(`  live  +${((Date.now() - began) / 1000).toFixed(2)}s  ${line}`)
      : undefined,
    ...(oidc
      ? {
          requesters: [{ clientId: 'finance-lead', clientSecret: oidc.secret }],
          observer: { clientId: 'admin', clientSecret: oidc.secret },
          issueToken: oidcScenarioTokens(oidc.provider.issuer),
        }
      : {}),
  });
  if (report.timedOut)
    say(
      humanMode
        ? report.awaitedPerson
          ? `Nobody decided within ${Math.round(timeoutMs / 1000)} s: the approval still waits for ${report.awaitedPerson.userId} at ${gatewayUrl}/console/ (the manager profile's rule escalates it up the reporting line at each step's deadline, then denies it). Raise DEMO_HUMAN_TIMEOUT to wait longer.`
          : `The approval was not handed to a person within ${Math.round(timeoutMs / 1000)} s (is the suite running the reference Manager agent and the shipped manager profile?).`
        : `Finance's task did not end within ${Math.round(timeoutMs / 1000)} s (DEMO_TIMEOUT).`,
    );
  else if (humanMode && report.awaitedPerson) say(`The person decided: Finance's task ${report.kickoff?.state ?? 'ended'}.`);
  say(renderTimeline(report));
  say('');

  // The model's side: every request body the scripted model received during this run.
  let leaks = [];
  let upstreamNote =
    "not checked (no record of this run's model requests: the suite does not run the recording scripted model of npm start)";
  // Byte offset: the file is UTF-8 and the records before this run are skipped by size.
  const text = existsSync(recordFile)
    ? readFileSync(recordFile)
        .subarray(recordedBefore ?? 0)
        .toString('utf8')
    : '';
  if (text.trim()) {
    const bodies = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line).body.toLowerCase());
    leaks = SEEDED_PII_VALUES.filter((value) => bodies.some((body) => body.includes(value.toLowerCase())));
    const placeholders = new Set(bodies.join('\n').match(/\[\[[a-z]+_[0-9a-f]+\]\]/g) ?? []);
    upstreamNote = leaks.length
      ? `LEAK — the model received ${leaks.map((v) => JSON.stringify(v)).join(', ')} in clear`
      : `none of the employee's values reached the model in ${bodies.length} requests; it saw ${placeholders.size} distinct placeholders`;
  }

  say('Checks:');
  for (const check of report.checks) say(`  ${check.ok ? '✓' : '✗'} ${check.name} — ${check.detail}`);
  say(`  ${leaks.length ? '✗' : '✓'} what the model saw: ${upstreamNote}`);
  say('');
  if (oidc) {
    const { tokenRequests } = await oidc.provider.stats();
    say(`  identity: AUTH_MODE=oidc; the OpenID provider issued every token (${tokenRequests} token requests)`);
  }
  say(
    `Scenario ${report.ok && !leaks.length ? 'succeeded' : 'FAILED'}${oidc ? ' (OIDC mode)' : humanMode ? ' (with a person)' : ''} in ${(report.durationMs / 1000).toFixed(2)} s (request to Finance's completion); ${report.liveEvents} lifecycle events seen live over SSE.`,
  );
  exitCode = report.ok && !leaks.length ? 0 : 1;
} catch (error) {
  say(`orgmesh demo: ${error instanceof Error ? error.message : String(error)}`);
  exitCode = 1;
} finally {
  if (suite) {
    say('stopping the suite booted for the demo…');
    await suite.stop();
  }
  await oidc?.provider.close();
}
process.exit(exitCode);
