/**
 * The exit statuses of every `orgmesh` command and of `orgmesh-mcp`: one table, so a script can
 * tell "fix your arguments" from "it failed" from "orgmesh is not running" whichever command it ran.
 * Printed by `orgmesh --help` and in the README's CLI section (both generated from EXIT_CODE_TABLE).
 */
export const EXIT = {
  ok: 0,
  /** The operation ran and did not succeed: problems found, refused by a service, policy denies. */
  failed: 1,
  /** Bad arguments or configuration; nothing was attempted. */
  usage: 2,
  /** NATS, the gateway or a service did not answer (sysexits.h EX_UNAVAILABLE). */
  unavailable: 69,
  /** `orgmesh agent run`: the watchdog stopped the command (as GNU timeout(1)). */
  watchdog: 124,
  /** `orgmesh agent run`: refused before starting the command (as env(1)/timeout(1) for their own failures). */
  refused: 125,
  /** Interrupted (Ctrl-C): 128 + SIGINT. */
  interrupted: 130,
  /** `orgmesh agent run`: the session was ended from outside (`orgmesh sessions kill`): 128 + SIGTERM. */
  terminated: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** `[code, meaning]` rows, in the order the help and the README show them. */
export const EXIT_CODE_TABLE: ReadonlyArray<readonly [number, string]> = [
  [EXIT.ok, 'ok'],
  [
    EXIT.failed,
    'the operation failed (problems found, refused by the service, policy denies, session already ended)',
  ],
  [EXIT.usage, 'usage error: bad arguments or configuration, nothing was attempted'],
  [EXIT.unavailable, 'unavailable: NATS, the gateway or the registry/sessions service did not answer'],
  [EXIT.watchdog, 'agent run: the watchdog stopped the command (--timeout)'],
  [EXIT.refused, 'agent run: refused before the command started (unknown agent, drift, session limit)'],
  [EXIT.interrupted, 'interrupted (Ctrl-C)'],
  [EXIT.terminated, 'agent run: the session was ended from outside (orgmesh sessions kill)'],
];

/** The table as help text: `  69  unavailable: …`, one line per code. */
export function formatExitCodes(indent = '  '): string {
  return EXIT_CODE_TABLE.map(([code, meaning]) => `${indent}${String(code).padStart(3)}  ${meaning}`).join(
    '\n',
  );
}
