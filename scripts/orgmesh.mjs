#!/usr/bin/env node
// `orgmesh <command> …`: the operator's command line. Each command lives in its package's built
// output (npm run build) and takes (argv, io) → exit status; this file only dispatches.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const COMMANDS = {
  registry: {
    module: 'services/registry/dist/cli.js',
    run: 'runRegistryCommand',
    summary: 'validate and load a registry directory, render, import the org chart, check a policy',
  },
  agent: {
    module: 'services/mcp-server/dist/runner/runner.cli.js',
    run: 'runAgentCli',
    summary: 'run an agent under supervision (agent run <agent-id> -- <command…>); hooks',
  },
  sessions: {
    module: 'services/mcp-server/dist/runner/runner.cli.js',
    run: 'runSessionsCli',
    summary: 'list agent sessions, or kill one (sessions kill <session-id>)',
  },
  'nats-config': {
    module: 'libs/messaging/dist/nats-config.cli.js',
    run: 'runNatsConfigCli',
    summary: 'write a secured nats-server config and one NKey seed per identity (ADR 0010)',
  },
};

// The one exit-code table (libs/config); its built file has no dependencies, so help stays fast.
const exitCodesModule = join(root, 'libs/config/dist/exit-codes.js');
const { EXIT, formatExitCodes } = existsSync(exitCodesModule)
  ? await import(pathToFileURL(exitCodesModule).href)
  : { EXIT: { ok: 0, failed: 1, usage: 2 }, formatExitCodes: () => '  (run npm run build to see the table)' };

const HELP = `orgmesh: the control plane for an organisation's AI agents

Usage: orgmesh <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join('\n')}

Every command and subcommand takes -h/--help (or: orgmesh help <command>). The suite itself: npm start.

Examples:
  orgmesh registry validate deploy/registry
  orgmesh registry load deploy/registry --dry-run
  orgmesh agent run finance-agent -- goose run --text "Prepare the Q3 budget"
  orgmesh sessions --all --limit 100

Exit codes (every command):
${formatExitCodes()}`;

let [command, ...argv] = process.argv.slice(2);
if (!command) {
  process.stderr.write(`${HELP}\n`);
  process.exit(EXIT.usage);
}
if (command === '--help' || command === '-h' || command === 'help') {
  // `orgmesh help sessions` is `orgmesh sessions --help`.
  if (command !== 'help' || argv.length === 0) {
    process.stdout.write(`${HELP}\n`);
    process.exit(EXIT.ok);
  }
  // An unknown <command> falls through to "unknown command" (exit 2).
  [command, ...argv] = [argv[0], ...argv.slice(1), '--help'];
}
const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
if (!entry) {
  process.stderr.write(`orgmesh: unknown command "${command}"\n\n${HELP}\n`);
  process.exit(EXIT.usage);
}
const modulePath = join(root, entry.module);
if (!existsSync(modulePath)) {
  process.stderr.write(`orgmesh ${command}: ${entry.module} is not built yet; run npm run build first\n`);
  process.exit(EXIT.failed);
}
const mod = await import(pathToFileURL(modulePath).href);

// Ctrl-C / SIGTERM: the command winds down (a runner stops its agent and records why); a second one exits now.
const interrupt = new AbortController();
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (++signals > 1) process.exit(130);
    interrupt.abort(signal);
  });
}

const io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  interrupt: interrupt.signal,
};
try {
  const code = await mod[entry.run](argv, io);
  process.exit(code);
} catch (error) {
  process.stderr.write(
    `orgmesh ${command}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(EXIT.failed);
}
