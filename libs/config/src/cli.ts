import { EXIT } from './exit-codes.js';

/** What an `orgmesh` command gets from the dispatcher: where its lines go, and its environment. */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The words that ask a command group for its help instead of running a subcommand. */
export function asksForHelp(word: string | undefined): boolean {
  return word === '--help' || word === '-h' || word === 'help';
}

/**
 * How every `orgmesh <group>` answers before it runs a subcommand: no subcommand prints the
 * group's help on stderr (EXIT.usage: nothing was attempted), `--help`, `-h` or `help` prints it
 * on stdout (EXIT.ok). Undefined for any other word: the group runs it.
 */
export function groupHelpAnswer(
  command: string | undefined,
  help: string,
  io: Pick<CliIo, 'out' | 'err'>,
): number | undefined {
  if (command === undefined || command === '') {
    io.err(help);
    return EXIT.usage;
  }
  if (asksForHelp(command)) {
    io.out(help);
    return EXIT.ok;
  }
  return undefined;
}
