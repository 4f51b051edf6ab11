import { describe, expect, it } from '@jest/globals';
import { EXIT } from './exit-codes.js';
import { asksForHelp, groupHelpAnswer } from './cli.js';

describe('groupHelpAnswer', () => {
  const run = (command: string | undefined) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = groupHelpAnswer(command, 'HELP', { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  };

  it('prints the help on stderr and answers usage when no subcommand is named', () => {
    expect(run(undefined)).toEqual({ code: EXIT.usage, out: [], err: ['HELP'] });
    expect(run('')).toEqual({ code: EXIT.usage, out: [], err: ['HELP'] });
  });

  it('prints the help on stdout and answers ok for --help, -h and help', () => {
    for (const word of ['--help', '-h', 'help'])
      expect(run(word)).toEqual({ code: EXIT.ok, out: ['HELP'], err: [] });
  });

  it('leaves any other word to the group', () => {
    expect(run('validate')).toEqual({ code: undefined, out: [], err: [] });
    expect(asksForHelp('--helpful')).toBe(false);
  });
});
