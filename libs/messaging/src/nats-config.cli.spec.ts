import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNatsConfigCli } from './nats-config.cli.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l) } };
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'orgmesh-nats-config-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function nkeyOf(config: string, identity: string): string | undefined {
  return new RegExp(`# ${identity}\\n\\s*\\{ nkey: "(U[A-Z2-7]+)"`).exec(config)?.[1];
}

describe('orgmesh nats-config', () => {
  it('writes a config nats-server accepts, one 0600 seed per identity and a Secret; keeps seeds unless --rotate', async () => {
    const out = join(tempDir(), 'bus');
    const first = io();
    const args = ['--out', out, '--prefix', 'acme.', '--agent', 'finance-agent:finance'];
    expect(await runNatsConfigCli(args, first.io)).toBe(0);
    const config = readFileSync(join(out, 'nats-server.conf'), 'utf8');
    for (const identity of ['sessions', 'registry', 'mesh-router', 'gateway', 'privacy-proxy', 'runner', 'admin-cli', 'agent-finance-agent']) {
      expect(nkeyOf(config, identity)).toMatch(/^U/);
      const seed = join(out, `${identity}.nk`);
      expect(statSync(seed).mode & 0o777).toBe(0o600);
      expect(readFileSync(seed, 'utf8')).toMatch(/^SU[A-Z2-7]{56}\n$/);
    }
    expect(config).toContain('"acme.rpc.sessions.v1.create"');
    expect(config).not.toContain('no_auth_user');
    expect(readFileSync(join(out, 'nats-credentials.secret.yaml'), 'utf8')).toContain('  gateway.nk: ');
    const auth = readFileSync(join(out, 'nats-auth.conf'), 'utf8');
    expect(auth.startsWith('authorization {')).toBe(true);
    expect(nkeyOf(auth, 'gateway')).toBe(nkeyOf(config, 'gateway'));
    try {
      execFileSync('nats-server', ['-c', join(out, 'nats-server.conf'), '-t'], { stdio: 'pipe' });
    } catch (error) {
      // No nats-server binary on this machine: the integration suite covers a real server.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }

    expect(await runNatsConfigCli(args, io().io)).toBe(0);
    expect(nkeyOf(readFileSync(join(out, 'nats-server.conf'), 'utf8'), 'gateway')).toBe(nkeyOf(config, 'gateway'));
    expect(await runNatsConfigCli([...args, '--rotate'], io().io)).toBe(0);
    expect(nkeyOf(readFileSync(join(out, 'nats-server.conf'), 'utf8'), 'gateway')).not.toBe(nkeyOf(config, 'gateway'));
  });

  it('refuses bad usage with exit 2 and says why', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /--out <dir> is required/],
      [['--out', tempDir(), '--agent', 'nocolon'], /expected <id>:<role>/],
      [['--out', tempDir(), '--agent', 'a.b:finance'], /invalid agentId/],
      [['--out', tempDir(), '--port', '99999'], /--port: expected a port number/],
      [['--out', tempDir(), '--prefix', 'Bad Prefix'], /invalid subjectPrefix/],
      [['--out', tempDir(), '--tls-cert', 'c.pem'], /go together/],
      [['--bogus'], /Unknown option/],
    ];
    for (const [args, message] of cases) {
      const run = io();
      expect(await runNatsConfigCli(args, run.io)).toBe(2);
      expect(run.err.join('\n')).toMatch(message);
    }
  });
});
