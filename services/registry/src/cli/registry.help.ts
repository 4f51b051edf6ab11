import { formatExitCodes } from '@orgmesh/config';

/** `orgmesh registry --help`: every command; each command's own help is cut from it (commandHelp). */
export const HELP = `orgmesh registry: validate, load and inspect an orgmesh registry directory

Usage:
  orgmesh registry validate <dir>
      Check a registry directory. Prints every problem in one pass, one line each
      (file: path.inside.file: reason (line L, column C)), and exits 1, or a summary and exits 0.
  orgmesh registry load <dir> [--dry-run] [--yes]
      Validate the directory, show what it changes against what the registry service holds (agents and
      profiles added, changed with the fields, removed), ask for confirmation, then load it as a new
      version (PUT /v1/registry through the gateway, as an admin). --dry-run: show the changes only.
      --yes: do not ask (needed when stdin is not a terminal).
  orgmesh registry import-org <csv> [--registry <dir>] [--dry-run]
      Check an org chart CSV (user_id,reports_to_id,name,role,email,department) against the
      registry's roles: cycles, unknown roles and managers, duplicate emails, each naming its line.
      Then import it through the registry service (NATS_URL), all or nothing (--dry-run: check only).
      --registry defaults to the CSV's directory.
  orgmesh registry render <dir> <agent-id> [--format goose|claude-code] [--out <dir>]
      Render an agent's client config (default goose) and print its config hash; --out writes the files.
      Grants the client cannot enforce as declared are printed on stderr as warnings (rendered narrower).
  orgmesh registry policy <dir> <from> <to> <task|approval|notification>
      May <from> send <to> that kind of message? Prints the decision and the rule (exit 0 allow, 1 deny).
  Every subcommand takes -h/--help.

Examples:
  orgmesh registry validate deploy/registry
  orgmesh registry load deploy/registry --dry-run
  orgmesh registry load deploy/registry --yes
  orgmesh registry import-org deploy/registry/org-chart.csv --dry-run
  orgmesh registry render deploy/registry finance-agent --format claude-code --out /tmp/finance
  orgmesh registry policy deploy/registry finance-agent legal task

A registry directory holds:
  roles.yaml           roles: [{id, display_name, description}]
  agents/<id>.yaml     one agent: id, role, display_name, description, model {provider, name}, tools,
                       delegates_to, cannot_access, exclusive_access, responsibilities, forbidden
  profiles/<id>.yaml   one role profile: id, role, providers, privacy, mesh, tools, extensions, hints
See services/registry/README.md and the demo registry in deploy/registry/.

Environment: ORGMESH_GATEWAY_URL (http://127.0.0.1:8080; load), ORGMESH_TOKEN (an admin bearer token),
or ORGMESH_CLIENT_ID and ORGMESH_CLIENT_SECRET (an admin client; load's default in dev mode: admin /
admin-dev-secret), NATS_URL and NATS_SUBJECT_PREFIX (import-org). Render endpoints:
ORGMESH_PRIVACY_PROXY_URL (http://127.0.0.1:8090), ORGMESH_GATEWAY_URL, ORGMESH_MCP_COMMAND (orgmesh-mcp).

Exit codes:
${formatExitCodes()}`;

/**
 * `orgmesh registry <command> --help`: that command's part of HELP (usage and options, its examples),
 * then the environment and the exit codes; cut from HELP so the two never disagree.
 */
export function commandHelp(command: string): string {
  const lines = HELP.split('\n');
  const head = `  orgmesh registry ${command} `;
  const start = lines.findIndex((line) => line.startsWith(head) || line === head.trimEnd());
  if (start < 0) return HELP;
  let end = start + 1;
  while (end < lines.length && lines[end]?.startsWith('      ')) end++;
  const examples = lines.filter(
    (line) => line.startsWith(`  orgmesh registry ${command} `) && !line.includes('<'),
  );
  const from = (title: string) => lines.slice(lines.findIndex((line) => line.startsWith(title))).join('\n');
  const environment = HELP.slice(HELP.indexOf('Environment:'), HELP.indexOf('\n\nExit codes:'));
  return [
    `orgmesh registry ${command}`,
    '',
    'Usage:',
    ...lines.slice(start, end),
    '  -h, --help   this help',
    '',
    `Example${examples.length === 1 ? '' : 's'}:`,
    ...examples,
    '',
    environment,
    '',
    from('Exit codes:'),
  ].join('\n');
}
