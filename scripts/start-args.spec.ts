import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const start = join(dirname(fileURLToPath(import.meta.url)), 'start.mjs');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [start, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('npm start arguments', () => {
  it('--help prints the usage and the environment it reads, and starts nothing', () => {
    const { status, stdout, stderr } = run('--help');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^usage: npm start/);
    for (const key of ['NATS_URL', 'DATABASE_URL', 'PRIVACY_UPSTREAM_OPENAI_URL', 'AUTH_MODE'])
      expect(stdout).toContain(key);
    // Nothing was started: no progress line of the suite.
    expect(`${stdout}${stderr}`).not.toContain('[orgmesh +');
  });

  it('refuses an argument it does not know with exit 2, naming it, and starts nothing', () => {
    const { status, stdout, stderr } = run('--port', '9000');
    expect(status).toBe(2);
    expect(stderr).toContain('unknown argument --port');
    expect(stderr).toContain('usage: npm start');
    expect(`${stdout}${stderr}`).not.toContain('[orgmesh +');
  });
});
