// The options a command's --help names, for the tests that hold the completion script and the
// man page to the help: those of its usage lines, and the first column of its option lines.

import { SUBCOMMANDS } from '../../src/cli/docker-commands.js';
import { iptkit } from './cli.js';

/** Every command line that has a --help of its own. */
export const HELP_COMMANDS: readonly (readonly string[])[] = [
  ['list'],
  ['save'],
  ['restore'],
  ['completion'],
  ['docker'],
  ...Object.keys(SUBCOMMANDS).map((s) => ['docker', s]),
];

export async function helpOf(command: readonly string[]): Promise<string> {
  const r = await iptkit(...command, '--help');
  if (r.code !== 0) throw new Error(`iptkit ${command.join(' ')} --help exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

export function helpOptions(help: string): string[] {
  const columns = help.split('\n').flatMap((l) => (/^\s*(usage: |iptkit )/.test(l) ? [l] : /^ {2}-/.test(l) ? [l.split(/ {2,}/)[1]!] : []));
  return [...new Set(columns.join(' ').match(/(?<![\w-])--?[a-zA-Z0-9][\w-]*/g))];
}
