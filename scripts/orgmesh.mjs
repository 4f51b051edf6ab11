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
    summary: 'validate, render, import the org chart, check a policy (orgmesh registry --help)',
  },
  agent: {
    module: 'services/mcp-server/dist/runner/runner.cli.js',
    run: 'runAgentCli',
    summary: 'run an agent under supervision (orgmesh agent run <agent-id> -- <command…>)',
  },
  sessions: {
    module: 'services/mcp-server/dist/runner/runner.cli.js',
    run: 'runSessionsCli',
    summary: 'list agent sessions, or kill one (orgmesh sessions kill <id>)',
  },
};

const HELP = `orgmesh: the control plane for an organisation's AI agents

Usage: orgmesh <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run orgmesh <command> --help for a command's options. The suite itself: npm start.`;

const [command, ...argv] = process.argv.slice(2);
if (!command || command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(`${HELP}\n`);
  process.exit(command ? 0 : 2);
}
const entry = COMMANDS[command];
if (!entry) {
  process.stderr.write(`orgmesh: unknown command "${command}"\n\n${HELP}\n`);
  process.exit(2);
}
const modulePath = join(root, entry.module);
if (!existsSync(modulePath)) {
  process.stderr.write(`orgmesh ${command}: ${entry.module} is not built yet; run npm run build first\n`);
  process.exit(1);
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
  process.exit(1);
}
