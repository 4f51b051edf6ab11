import { formatExitCodes } from '@orgmesh/config';

// The help texts of `orgmesh agent …` and `orgmesh sessions …` (printed on -h/--help, exit 0, stdout).

const RUN_USAGE = `  orgmesh agent run <agent-id> [options] -- <command…>
      Render the agent's config (Claude Code or Goose) into its workspace, open its session, and run
      the command there with the privacy proxy as its model endpoint and the mesh (orgmesh-mcp) wired in.
      The session becomes active when the command starts, completed when it exits 0, failed otherwise.
      Refuses (exit 125, with the fix) an unknown or invalid agent, a workspace whose rendered files were
      edited (drift), and an agent already at its limit of concurrent sessions.
    --workspace <dir>    where the agent works (default: $ORGMESH_WORKSPACES_DIR/<agent-id>,
                         i.e. .orgmesh/workspaces/<agent-id>)
    --timeout <dur>      watchdog: stop a command still running after this long (SIGTERM, then SIGKILL)
                         and fail the session with "watchdog timeout"; e.g. 90s, 30m (default), 2h; 0 = none
    --format <f>         claude-code | goose (default: claude-code for Anthropic models, goose otherwise)
    --reset-config       overwrite local edits of the rendered files with the declared config
    --max-sessions <n>   open runner sessions allowed for this agent (default ORGMESH_MAX_SESSIONS, 1)
    --quiet              do not copy the command's output to the terminal (it is logged all the same)
    -h, --help           this help`;

const HOOK_USAGE = `  orgmesh agent hook <pre-tool-use|session-start|stop> <agent-id>
      Called by Claude Code's hooks (rendered into .claude/settings.json), with the hook's JSON on stdin.
      pre-tool-use blocks (exit 2, the reason on stderr) file and shell tools that touch the agent's
      off-limits paths, and blocks as well when it cannot tell; session-start and stop exit 0.
    -h, --help           this help`;

const RUN_DETAILS = `The command's stdout and stderr go to <workspace>/.orgmesh/logs/<session-id>/{stdout,stderr}.log and,
unless --quiet, to this terminal. Its environment: ANTHROPIC_BASE_URL / OPENAI_BASE_URL = the privacy
proxy, OPENAI_API_KEY = the agent's orgmesh token (provider keys are removed); Claude Code takes its
model credential from its apiKeyHelper (orgmesh agent token), Goose from the runner's model relay
(ANTHROPIC_HOST / OPENAI_HOST and a key valid for this run), so both outlive the first token;
ORGMESH_AGENT_ID, ORGMESH_CLIENT_ID, ORGMESH_CLIENT_SECRET, ORGMESH_GATEWAY_URL (read by orgmesh-mcp),
ORGMESH_SESSION_ID, ORGMESH_CONTEXT_ID, ORGMESH_TOKEN, ORGMESH_WORKSPACE, NATS_URL.

Environment: NATS_URL (nats://127.0.0.1:4222), ORGMESH_GATEWAY_URL (http://127.0.0.1:8080),
ORGMESH_PRIVACY_PROXY_URL or PRIVACY_PROXY_URL (http://127.0.0.1:8090), ORGMESH_CLIENT_ID (the agent id),
ORGMESH_CLIENT_SECRET (dev default: <client-id>-dev-secret), ORGMESH_MAX_SESSIONS (1),
ORGMESH_AGENT_TIMEOUT (30m), ORGMESH_HEARTBEAT_INTERVAL (10s), ORGMESH_KILL_GRACE (10s).`;

const EXIT_CODES = `Exit codes (the same table for every orgmesh command; agent run adds the command's own status,
126 cannot execute it, 127 not found):
${formatExitCodes()}`;

export const AGENT_HELP = `orgmesh agent: run an agent under orgmesh supervision

Usage:
${RUN_USAGE}
${HOOK_USAGE}
  orgmesh agent token          print a fresh token of the agent (for Claude Code's apiKeyHelper)

Examples:
  orgmesh agent run finance-agent -- goose run --text "Prepare the Q3 budget"
  orgmesh agent run legal-agent --timeout 15m -- claude -p "Review contracts/nda.md"
  orgmesh agent run --help

${RUN_DETAILS}

${EXIT_CODES}`;

export const AGENT_RUN_HELP = `orgmesh agent run: run an agent under orgmesh supervision

Usage:
${RUN_USAGE}

Examples:
  orgmesh agent run finance-agent -- goose run --text "Prepare the Q3 budget"
  orgmesh agent run legal-agent --format claude-code --timeout 15m -- claude -p "Review contracts/nda.md"
  orgmesh agent run finance-agent --reset-config --quiet -- ./my-agent.sh

${RUN_DETAILS}

${EXIT_CODES}`;

export const AGENT_HOOK_HELP = `orgmesh agent hook: Claude Code's hook into orgmesh

Usage:
${HOOK_USAGE}

Example (what Claude Code runs before a tool call):
  echo '{"tool_name":"Read","tool_input":{"file_path":"hr/salaries.csv"}}' | orgmesh agent hook pre-tool-use finance-agent

Exit codes: 0 allow, 2 block (Claude Code shows stderr to the model; a usage error blocks too, so a
broken hook never lets a tool through).`;

const SESSIONS_USAGE = `  orgmesh sessions [--all] [--agent <id>] [--state <state>] [--limit <n|all>] [--json]
      A table of sessions, newest first: agent, session id, state, duration (so far, or from start to
      end for an ended one), last activity, who opened it. Default: the open ones (pending, active,
      paused); --all adds ended ones. At most --limit rows (default 50; all: every one); when there are
      more, a last line says so.`;

const KILL_USAGE = `  orgmesh sessions kill <session-id> [--reason <text>]
      Fail the session (reason "killed by operator"). If a runner supervises it, the runner stops
      its command (SIGTERM, then SIGKILL) and exits 143.`;

export const SESSIONS_HELP = `orgmesh sessions: agent sessions

Usage:
${SESSIONS_USAGE}
${KILL_USAGE}
  Both take -h/--help.

Examples:
  orgmesh sessions
  orgmesh sessions --all --agent finance-agent --limit 200
  orgmesh sessions --state failed --json
  orgmesh sessions kill 3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f --reason "stuck on a loop"

Environment: NATS_URL (nats://127.0.0.1:4222), NATS_SUBJECT_PREFIX; the operator's client,
ORGMESH_CLIENT_ID / ORGMESH_CLIENT_SECRET (default: the dev admin client of npm start), whose token
the gateway at ORGMESH_GATEWAY_URL issues. An agent's client sees and ends its own sessions only.

Exit codes:
${formatExitCodes()}`;

export const SESSIONS_KILL_HELP = `orgmesh sessions kill: fail a session as an operator

Usage:
${KILL_USAGE}
    --reason <text>      recorded as the failure reason (default "killed by operator")
    -h, --help           this help

Example:
  orgmesh sessions kill 3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f --reason "stuck on a loop"
  (the ids are in the second column of orgmesh sessions)

The transition records the operator's token subject as its actor (e.g. admin).

Exit codes: 0 failed it, 1 it had already ended or does not exist, 2 usage error (e.g. not a session
id), 69 NATS, the gateway (for the token) or the sessions service did not answer.`;
