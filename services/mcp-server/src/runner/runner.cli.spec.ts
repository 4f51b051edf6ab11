import { describe, expect, it } from '@jest/globals';
import { runAgentCli, runSessionsCli, type CliIo } from './runner.cli.js';

function io(): CliIo & { out: (l: string) => void; lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    out: (l) => lines.push(l),
    err: (l) => errors.push(l),
    env: { NATS_URL: 'nats://127.0.0.1:1' },
    lines,
    errors,
  };
}

describe('orgmesh agent / sessions command lines (before anything is contacted)', () => {
  it('prints help', async () => {
    const help = io();
    expect(await runAgentCli(['--help'], help)).toBe(0);
    expect(help.lines[0]).toContain('orgmesh agent run <agent-id> [options] -- <command…>');
    const none = io();
    expect(await runAgentCli([], none)).toBe(2);
    const sessions = io();
    expect(await runSessionsCli(['--help'], sessions)).toBe(0);
    expect(sessions.lines[0]).toContain('orgmesh sessions kill <session-id>');
  });

  it.each([
    [['run'], 'missing <agent-id>'],
    [['run', 'finance-agent'], 'missing the command: orgmesh agent run <agent-id> -- <command…>'],
    [['run', 'finance-agent', 'claude'], 'unexpected claude: put the command after --'],
    [
      ['run', 'finance-agent', '--timeout', 'soon', '--', 'x'],
      '--timeout: expected a duration with a unit, like 90s, 30m, 2h (or 0 for none), got "soon"',
    ],
    [
      ['run', 'finance-agent', '--timeout', '5', '--', 'x'],
      '--timeout: expected a duration with a unit, like 90s, 30m, 2h (or 0 for none), got "5"',
    ],
    [['run', 'finance-agent', '--format', 'vim', '--', 'x'], '--format: expected claude-code or goose'],
    [
      ['run', 'finance-agent', '--max-sessions', '0', '--', 'x'],
      '--max-sessions: expected a whole number ≥ 1',
    ],
    [['run', 'finance-agent', '--bogus', '--', 'x'], "Unknown option '--bogus'"],
    [['launch'], 'unknown command "launch"'],
  ])('refuses %j with a usage error (exit 2)', async (argv, message) => {
    const out = io();
    expect(await runAgentCli(argv, out)).toBe(2);
    expect(out.errors.join('\n')).toContain(message);
  });

  it.each([
    [['--help'], runAgentCli, 'orgmesh agent run <agent-id> [options] -- <command…>'],
    [['run', '--help'], runAgentCli, '--timeout <dur>'],
    [['run', 'finance-agent', '-h'], runAgentCli, '--timeout <dur>'],
    [['hook', '--help'], runAgentCli, 'orgmesh agent hook <pre-tool-use|session-start|stop> <agent-id>'],
    [['--help'], runSessionsCli, 'orgmesh sessions kill <session-id>'],
    [['--all', '--help'], runSessionsCli, '--limit <n|all>'],
    [['kill', '--help'], runSessionsCli, '--reason <text>'],
    [['kill', 'not-a-uuid', '-h'], runSessionsCli, '--reason <text>'],
  ])(
    '%j prints help with a usage line and an example on stdout, exit 0, contacting nothing',
    async (argv, cli, line) => {
      const out = io();
      expect(await cli(argv, out)).toBe(0);
      expect(out.errors).toEqual([]);
      const text = out.lines.join('\n');
      expect(text).toContain('Usage:');
      expect(text).toMatch(/Examples?/);
      expect(text).toContain(line);
    },
  );

  it('lists the exit-code table in the help of agent and sessions', async () => {
    for (const cli of [runAgentCli, runSessionsCli]) {
      const out = io();
      await cli(['--help'], out);
      for (const row of [/ 0 {2}ok/, / 1 {2}the operation failed/, / 2 {2}usage error/, /69 {2}unavailable/])
        expect(out.lines.join('\n')).toMatch(row);
    }
  });

  it('refuses a session id that is not a UUID as a usage error, before contacting anything', async () => {
    const kill = io();
    expect(await runSessionsCli(['kill', 'finance-agent'], kill)).toBe(2);
    expect(kill.errors.join('\n')).toContain('"finance-agent" is not a session id');
    expect(kill.errors.join('\n')).not.toContain('rpc.sessions');
  });

  it('reports an unknown option in one readable sentence', async () => {
    const out = io();
    expect(await runSessionsCli(['kill', '--force'], out)).toBe(2);
    expect(out.errors[0]).toBe(
      "orgmesh sessions kill: Unknown option '--force' (see orgmesh sessions kill --help)",
    );
  });

  it('refuses bad sessions arguments', async () => {
    const state = io();
    expect(await runSessionsCli(['--state', 'sleeping'], state)).toBe(2);
    expect(state.errors[0]).toContain(
      '--state: expected one of pending, active, paused, completed, failed, expired',
    );
    const kill = io();
    expect(await runSessionsCli(['kill'], kill)).toBe(2);
    expect(kill.errors[0]).toContain('missing <session-id>');
    const limit = io();
    expect(await runSessionsCli(['--limit', '0'], limit)).toBe(2);
    expect(limit.errors[0]).toContain('--limit: expected a whole number ≥ 1 or "all", got "0"');
  });
});
