import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '@orgmesh/config';
import { ApplySessionEvent, CreateSession } from '@orgmesh/contracts';
import { connectBus } from '@orgmesh/messaging';
import { createTestContext, type TestContext } from '@orgmesh/testing';
// The services run in-process, for real; the CLI runs as its own process (scripts/orgmesh.mjs), as an
// operator runs it. Every spawn is asynchronous: a blocking spawnSync would stall the in-process services.
import { devToken, silentLogger, startTestGateway, type GatewayApp } from '@orgmesh/gateway/testing';
import { authorizeBus, startTestSessions } from '@orgmesh/sessions/testing';
import {
  startTestRegistry,
  runRegistryCli,
  adminCredentials,
  gatewayRemote,
} from '@orgmesh/registry/testing';
import { runSessionsCli } from '../src/runner/runner.cli.js';
import { MCP_BIN_DIR, REPO_ROOT, buildForProcesses, testPath } from './mcp-harness.js';

const node = process.execPath;
const ORGMESH = join(REPO_ROOT, 'scripts/orgmesh.mjs');
const DEMO = join(REPO_ROOT, 'deploy/registry');

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string[], env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, command, {
      env: { PATH: testPath(), HOME: tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    // 'close', not 'exit': 'exit' may come before the last output is read from the pipes (on a
    // loaded CI machine the dry run's whole stdout once arrived after it).
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A port nothing listens on: bound once to learn a free one, then closed. */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (typeof address !== 'object' || address === null) return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

describe('the orgmesh command line as its own process: help, one exit-code table, registry load', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let env: Record<string, string>;
  let nowhere: string;
  const services: Array<{ close(): Promise<void> }> = [];
  const dirs: string[] = [];
  const orgmesh = (args: string[], extra: Record<string, string> = {}) =>
    run([ORGMESH, ...args], { ...env, ...extra });

  async function registryCopy(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'orgmesh-cli-registry-'));
    dirs.push(dir);
    await cp(DEMO, dir, { recursive: true });
    return dir;
  }

  beforeAll(async () => {
    buildForProcesses();
    ctx = await createTestContext();
    gateway = await startTestGateway(ctx);
    services.push(
      await startTestRegistry(ctx, {
        overrides: { REGISTRY_AUTH: 'on', AUTH_ISSUER: gateway.url, GATEWAY_URL: gateway.url },
      }),
    );
    services.push(await startTestSessions(ctx));
    env = {
      NATS_URL: ctx.natsUrl,
      NATS_SUBJECT_PREFIX: ctx.subjectPrefix,
      NATS_NAME_SUFFIX: ctx.nameSuffix,
      ORGMESH_GATEWAY_URL: gateway.url,
      ORGMESH_PRIVACY_PROXY_URL: 'http://127.0.0.1:18090',
      ORGMESH_HEARTBEAT_INTERVAL: '200ms',
      ORGMESH_KILL_GRACE: '500ms',
      ORGMESH_CONNECT_TIMEOUT: '2s',
    };
    nowhere = `http://127.0.0.1:${await closedPort()}`;
  });

  afterAll(async () => {
    await gateway?.close();
    for (const service of services.reverse()) await service.close();
    await ctx?.dispose();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it.each([
    [['--help']],
    [['help', 'registry']],
    [['registry', '--help']],
    [['registry', 'validate', '--help']],
    [['registry', 'load', '--help']],
    [['registry', 'import-org', '-h']],
    [['registry', 'render', '--help']],
    [['registry', 'policy', '--help']],
    [['agent', '--help']],
    [['agent', 'run', '--help']],
    [['agent', 'hook', '--help']],
    [['sessions', '--help']],
    [['sessions', 'kill', '--help']],
  ])('orgmesh %j: a usage line, an example and the exit codes on stdout, exit 0', async (args) => {
    const ran = await orgmesh(args);
    expect(ran.stderr).toBe('');
    expect(ran.status).toBe(0);
    expect(ran.stdout).toContain('Usage:');
    expect(ran.stdout).toMatch(/Examples?/);
    expect(ran.stdout).toMatch(/Exit codes/);
  });

  it('orgmesh-mcp --help needs no configuration', async () => {
    const ran = await run([join(MCP_BIN_DIR, 'orgmesh-mcp'), '--help'], {});
    expect(ran.status).toBe(0);
    expect(ran.stdout).toContain('Usage:');
    expect(ran.stdout).toContain('orgmesh-mcp --http [--port <n>]');
    expect(ran.stderr).not.toContain('invalid configuration');
  });

  it('exit 0 ok, 1 failed, 2 usage: the same meaning for every command', async () => {
    const broken = await registryCopy();
    await writeFile(join(broken, 'agents/finance-agent.yaml'), 'id: finance-agent\nrole: [\n');
    const [valid, problems, unknownSession, bare, bogus, notUuid, noConfirm, noCommand] = await Promise.all([
      orgmesh(['registry', 'validate', DEMO]),
      orgmesh(['registry', 'validate', broken]),
      orgmesh(['sessions', 'kill', '00000000-0000-4000-8000-000000000000']),
      orgmesh([]),
      orgmesh(['bogus']),
      orgmesh(['sessions', 'kill', 'finance-agent']),
      orgmesh(['registry', 'load', DEMO]),
      orgmesh(['agent', 'run', 'finance-agent']),
    ]);
    expect(valid.status).toBe(EXIT.ok);
    expect(problems.status).toBe(EXIT.failed);
    expect(problems.stderr).toContain('agents/finance-agent.yaml: (root): invalid YAML');
    expect(unknownSession.status).toBe(EXIT.failed);
    expect(unknownSession.stderr).toContain('no session 00000000-0000-4000-8000-000000000000');
    for (const usage of [bare, bogus, notUuid, noConfirm, noCommand]) expect(usage.status).toBe(EXIT.usage);
    expect(notUuid.stderr).toContain('"finance-agent" is not a session id');
    expect(notUuid.stderr).not.toContain('invalid rpc.sessions');
    expect(noConfirm.stderr).toContain('pass --yes to load, or --dry-run to preview');
  });

  it('exit 69 when the gateway or NATS does not answer, whichever command', async () => {
    const natsNowhere = `nats://127.0.0.1:${await closedPort()}`;
    const [load, sessions, kill, runNoGateway, runNoNats, importOrg, sessionsNoGateway] = await Promise.all([
      orgmesh(['registry', 'load', DEMO, '--dry-run'], { ORGMESH_GATEWAY_URL: nowhere }),
      orgmesh(['sessions'], { NATS_URL: natsNowhere, ORGMESH_CONNECT_TIMEOUT: '1s' }),
      orgmesh(['sessions', 'kill', '00000000-0000-4000-8000-000000000000'], {
        NATS_URL: natsNowhere,
        ORGMESH_CONNECT_TIMEOUT: '1s',
      }),
      // NATS and the registry answer; the gateway, which issues the agent's token, does not.
      orgmesh(['agent', 'run', 'finance-agent', '--', node, '-e', '0'], { ORGMESH_GATEWAY_URL: nowhere }),
      orgmesh(['agent', 'run', 'finance-agent', '--', node, '-e', '0'], {
        NATS_URL: natsNowhere,
        ORGMESH_CONNECT_TIMEOUT: '1s',
      }),
      orgmesh(['registry', 'import-org', join(DEMO, 'org-chart.csv')], { NATS_URL: natsNowhere }),
      // NATS answers; the gateway, which issues the operator's token, does not.
      orgmesh(['sessions'], { ORGMESH_GATEWAY_URL: nowhere }),
    ]);
    expect([
      load.status,
      sessions.status,
      kill.status,
      runNoGateway.status,
      runNoNats.status,
      importOrg.status,
      sessionsNoGateway.status,
    ]).toEqual([
      EXIT.unavailable,
      EXIT.unavailable,
      EXIT.unavailable,
      EXIT.unavailable,
      EXIT.unavailable,
      EXIT.unavailable,
      EXIT.unavailable,
    ]);
    expect(load.stderr).toContain(`the gateway does not answer at ${nowhere}`);
    expect(runNoGateway.stderr).toContain(`from the gateway at ${nowhere}`);
    expect(sessionsNoGateway.stderr).toContain('cannot obtain a token from the gateway');
  });

  it('agent run: 125 refused, 124 watchdog, otherwise the command’s own status; the dev-secret warning once', async () => {
    const workspace = await mkdtemp(join(tmpdir(), 'orgmesh-cli-ws-'));
    dirs.push(workspace);
    const refused = await orgmesh(['agent', 'run', 'nobody-agent', '--', node, '-e', '0']);
    expect(refused.status).toBe(EXIT.refused);
    expect(refused.stderr).toContain('orgmesh registry load');

    const own = await orgmesh([
      'agent',
      'run',
      'finance-agent',
      '--workspace',
      workspace,
      '--',
      node,
      '-e',
      'console.log(process.env.ORGMESH_WARNED); process.exit(3)',
    ]);
    expect(own.status).toBe(3);
    const warnings = own.stderr.split('\n').filter((l) => l.includes('ORGMESH_CLIENT_SECRET is not set'));
    expect(warnings).toHaveLength(1);
    // Handed down, so an orgmesh the agent starts (a hook, a nested run) does not warn again.
    expect(own.stdout.trim()).toBe('dev-client-secret');
    const inherited = await orgmesh(['agent', 'run', 'nobody-agent', '--', node, '-e', '0'], {
      ORGMESH_WARNED: 'dev-client-secret',
    });
    expect(inherited.stderr).not.toContain('ORGMESH_CLIENT_SECRET is not set');

    const hung = await orgmesh([
      'agent',
      'run',
      'finance-agent',
      '--workspace',
      workspace,
      '--timeout',
      '1s',
      '--',
      node,
      '-e',
      'setInterval(() => {}, 1000)',
    ]);
    expect(hung.status).toBe(EXIT.watchdog);
    expect(hung.stderr).toContain('watchdog timeout');
  });

  it('registry load: validates, previews the changes against the registry, applies with --yes', async () => {
    const dir = await registryCopy();
    const financePath = join(dir, 'agents/finance-agent.yaml');
    const finance = await readFile(financePath, 'utf8');
    await writeFile(
      financePath,
      finance.replace(/^description: .*$/m, 'description: Prepares budgets, now also forecasts.'),
    );
    await unlink(join(dir, 'agents/data-agent.yaml'));
    await writeFile(
      join(dir, 'agents/forecast-agent.yaml'),
      'id: forecast-agent\nrole: finance\ndisplay_name: Forecast Agent\nmodel:\n  provider: openai\n  name: gpt-4o-mini\n',
    );
    const admin = await devToken(gateway, 'admin');
    const agentStatus = async (id: string) =>
      (await fetch(`${gateway.url}/v1/agents/${id}`, { headers: { authorization: `Bearer ${admin}` } }))
        .status;

    const preview = await orgmesh(['registry', 'load', dir, '--dry-run']);
    expect(preview.status).toBe(0);
    expect(preview.stdout).toContain('(version 1):');
    expect(preview.stdout).toMatch(/agents: 1 added, 1 changed, 1 removed, 24 unchanged/);
    expect(preview.stdout).toContain('+ forecast-agent');
    expect(preview.stdout).toContain('~ finance-agent: description');
    expect(preview.stdout).toContain('- data-agent');
    expect(preview.stdout).toMatch(/profiles: 0 added, 0 changed, 0 removed, 7 unchanged/);
    expect(preview.stdout).toContain('dry run: nothing loaded');
    // Nothing credentialed was configured: the dev admin client was used, and said so once.
    expect(preview.stderr.match(/using the dev admin client/g)).toHaveLength(1);
    expect(await agentStatus('data-agent')).toBe(200);
    expect(await agentStatus('forecast-agent')).toBe(404);

    const applied = await orgmesh(['registry', 'load', dir, '--yes']);
    expect(applied.stderr).toContain('using the dev admin client');
    expect(applied.status).toBe(0);
    expect(applied.stdout).toMatch(
      /loaded .* as registry version 2 \(sha256:[0-9a-f]{64}\): 6 roles, 7 profiles, 26 agents/,
    );
    expect(await agentStatus('data-agent')).toBe(404);
    expect(await agentStatus('forecast-agent')).toBe(200);

    const again = await orgmesh(['registry', 'load', dir, '--dry-run']);
    expect(again.stdout).toContain('(version 2):');
    expect(again.stdout).toMatch(/agents: 0 added, 0 changed, 0 removed, 26 unchanged/);

    const wrongSecret = await orgmesh(['registry', 'load', dir, '--yes'], {
      ORGMESH_CLIENT_ID: 'admin',
      ORGMESH_CLIENT_SECRET: 'not-the-secret',
    });
    expect(wrongSecret.status).toBe(EXIT.failed);
    expect(wrongSecret.stderr).toContain('refused the client credentials of "admin"');

    const notAdmin = await orgmesh(['registry', 'load', dir, '--yes'], {
      ORGMESH_TOKEN: await devToken(gateway, 'finance-agent'),
    });
    expect(notAdmin.status).toBe(EXIT.failed);
    expect(notAdmin.stderr).toMatch(/forbidden|admin/);

    await writeFile(join(dir, 'agents/forecast-agent.yaml'), 'id: forecast-agent\nrole: financ\n');
    const invalid = await orgmesh(['registry', 'load', dir, '--yes']);
    expect(invalid.status).toBe(EXIT.failed);
    expect(invalid.stderr).toContain('agents/forecast-agent.yaml: role: unknown role "financ"');
    expect(invalid.stderr).toMatch(/agents\/forecast-agent\.yaml: [^\n]*display_name[^\n]*: required/);
    expect(invalid.stderr).toContain('nothing loaded');
    expect(await agentStatus('forecast-agent')).toBe(200);
  });
  it('orgmesh sessions pages through the service and says when it shows fewer than there are; ended sessions show their duration', async () => {
    // Seeded as an admin: the sessions service verifies every caller.
    const bus = authorizeBus(
      await connectBus({
        url: ctx.natsUrl,
        name: 'orgmesh-cli-test',
        subjectPrefix: ctx.subjectPrefix,
        nameSuffix: ctx.nameSuffix,
        logger: silentLogger,
      }),
      `Bearer ${await devToken(gateway, 'admin')}`,
    );
    try {
      const agentId = 'pagination-agent';
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const session = await bus.request(CreateSession, { agentId, role: 'finance' });
        ids.push(session.id);
      }
      await bus.request(ApplySessionEvent, {
        id: ids[0] ?? '',
        event: 'fail',
        reason: 'test',
        actor: 'test',
      });
      const cli = async (args: string[]) => {
        const lines: string[] = [];
        const errors: string[] = [];
        const code = await runSessionsCli(args, {
          out: (l) => lines.push(l),
          err: (l) => errors.push(l),
          // The operator's client named, so stderr holds only what the listing says.
          env: { ...env, ORGMESH_CLIENT_ID: 'admin', ORGMESH_CLIENT_SECRET: 'admin-dev-secret' },
        });
        return { code, rows: lines.join('\n').split('\n').slice(1), errors };
      };

      const firstTwo = await cli(['--all', '--agent', agentId, '--limit', '2']);
      expect(firstTwo.code).toBe(0);
      expect(firstTwo.rows).toHaveLength(2);
      expect(firstTwo.errors).toEqual([
        'showing the 2 newest of more than 2 sessions; --limit <n> or --limit all for more',
      ]);
      const open = await cli(['--agent', agentId, '--limit', '4']);
      expect(open.rows).toHaveLength(4);
      expect(open.errors).toEqual([
        'showing the 4 newest of 6 sessions; --limit <n> or --limit all for more',
      ]);
      const all = await cli(['--all', '--agent', agentId, '--limit', 'all']);
      expect(all.rows).toHaveLength(7);
      expect(all.errors).toEqual([]);
      // The ended one (the oldest, last row) shows how long it ran, not "0s".
      expect(all.rows.at(-1)).toMatch(
        new RegExp(`^${agentId}\\s+${ids[0]}\\s+failed\\s+(\\d+ms|\\d\\.\\ds)\\s`),
      );
    } finally {
      await bus.close();
    }
  });
  it('registry load asks before loading: "no" loads nothing (exit 1), "yes" loads', async () => {
    const dir = await registryCopy();
    const path = join(dir, 'agents/legal-agent.yaml');
    await writeFile(
      path,
      (await readFile(path, 'utf8')).replace(/^description: .*$/m, 'description: Asked first.'),
    );
    const questions: string[] = [];
    const attempt = async (answer: boolean) => {
      const lines: string[] = [];
      const errors: string[] = [];
      const io = { out: (l: string) => lines.push(l), err: (l: string) => errors.push(l), env };
      const code = await runRegistryCli(['load', dir], io, {
        registryRemote: async () => gatewayRemote(await adminCredentials(env)),
        confirm: async (question) => (questions.push(question), answer),
      });
      return { code, lines, errors };
    };
    const declined = await attempt(false);
    expect(declined.code).toBe(EXIT.failed);
    expect(declined.lines.join('\n')).toContain('~ legal-agent: description');
    expect(declined.errors).toEqual(['not confirmed: nothing loaded']);
    expect(questions).toEqual([`Load ${dir} as a new registry version? [y/N] `]);
    const admin = await devToken(gateway, 'admin');
    const description = async () =>
      (
        (await (
          await fetch(`${gateway.url}/v1/agents/legal-agent`, {
            headers: { authorization: `Bearer ${admin}` },
          })
        ).json()) as { agent: { description: string } }
      ).agent.description;
    expect(await description()).not.toBe('Asked first.');
    const accepted = await attempt(true);
    expect(accepted.code).toBe(EXIT.ok);
    expect(await description()).toBe('Asked first.');
  });
});
