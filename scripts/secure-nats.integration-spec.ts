import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { connectBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { freePort } from '@orgmesh/testing';
// @ts-expect-error: a plain .mjs script of npm start, without type declarations
import { startSecureNats } from './secure-nats.mjs';

interface SecureNats {
  url: string;
  envFor(name: string): Record<string, string>;
  runnerSeed: string | undefined;
}

const saved = { NATS_URL: process.env['NATS_URL'], port: process.env['ORGMESH_NATS_PORT'], dir: process.env['ORGMESH_NATS_CREDENTIALS_DIR'] };
const children: ChildProcess[] = [];
const dirs: string[] = [];
const agents = [{ role: 'finance', agentId: 'finance-agent' }];

function restore(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}

beforeAll(() => {
  // secure-nats.mjs loads the built generator (libs/messaging/dist), as npm start does.
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'ignore' });
}, 120_000);

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null) continue;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  restore('NATS_URL', saved.NATS_URL);
  restore('ORGMESH_NATS_PORT', saved.port);
  restore('ORGMESH_NATS_CREDENTIALS_DIR', saved.dir);
});

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'orgmesh-secure-nats-'));
  dirs.push(dir);
  return dir;
}

describe("npm start's NATS (scripts/secure-nats.mjs)", () => {
  it('starts a secured nats-server under the state dir and hands each process its own seed', async () => {
    delete process.env['NATS_URL'];
    process.env['ORGMESH_NATS_PORT'] = String(await freePort());
    const state = stateDir();
    const options = { stateDir: state, log: () => undefined, agents, onChild: (e: { child: ChildProcess }) => children.push(e.child) };
    const secure = (await startSecureNats(options)) as SecureNats;
    const dir = join(state, 'nats-secure');
    expect(secure.url).toBe(`nats://127.0.0.1:${process.env['ORGMESH_NATS_PORT']}`);
    expect(secure.envFor('gateway')).toEqual({ NATS_NKEY_SEED_FILE: join(dir, 'gateway.nk') });
    expect(secure.envFor('agent-finance')).toEqual({ NATS_NKEY_SEED_FILE: join(dir, 'agent-finance-agent.nk') });
    expect(secure.envFor('scripted-model')).toEqual({});
    expect(secure.runnerSeed).toBe(join(dir, 'runner.nk'));

    await expect(connect({ servers: secure.url, reconnect: false, timeout: 5_000 })).rejects.toThrow(/authorization/i);
    const bus = await connectBus({
      url: secure.url,
      name: 'sessions',
      nkeySeedFile: secure.envFor('sessions')['NATS_NKEY_SEED_FILE'],
      logger: createLogger({ service: 'secure-nats-test', level: 'silent' }),
    });
    try {
      await bus.ensureStream('sessions');
    } finally {
      await bus.close();
    }
    // A second suite on the same port is refused with what to do, not a confusing bind error.
    await expect(startSecureNats({ ...options, stateDir: stateDir() })).rejects.toThrow(/already answers/);
  }, 60_000);

  it('starts nothing when NATS_URL is set, taking the seeds from ORGMESH_NATS_CREDENTIALS_DIR', async () => {
    process.env['NATS_URL'] = 'nats://nats.example:4222';
    process.env['ORGMESH_NATS_CREDENTIALS_DIR'] = '/etc/orgmesh/nats';
    const secure = (await startSecureNats({ stateDir: stateDir(), log: () => undefined, agents, onChild: () => undefined })) as SecureNats;
    expect(secure.url).toBe('nats://nats.example:4222');
    expect(secure.envFor('registry')).toEqual({ NATS_NKEY_SEED_FILE: '/etc/orgmesh/nats/registry.nk' });
    expect(children).toEqual([]);
  });
});
