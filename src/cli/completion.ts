// `iptkit completion bash`: prints a bash completion script made from the commands' own option
// declarations (the CommandSpecs their parsers use), so that it offers what the parsers accept.
// Install: `iptkit completion bash > /etc/bash_completion.d/iptkit`, or `eval` it in ~/.bashrc.

import { BUILTIN_CHAINS } from '../rules/model.js';
import { COMMON_OPTIONS, parseCommand, UsageError, type CommandSpec, type OptionSpecs } from './args.js';
import type { Io } from './common.js';

export const COMPLETION: CommandSpec = {
  name: 'completion',
  positionals: { max: 1, what: 'one SHELL (bash)' },
  options: {},
  help: `usage: iptkit completion bash

Prints a bash completion script for iptkit: commands, docker subcommands, options, table
names, built-in chains, --backend and --fail-on values, namespace names and files.

  eval "$(iptkit completion bash)"                         in ~/.bashrc, or
  iptkit completion bash > /etc/bash_completion.d/iptkit   for every user

  -h, --help            print this help and do nothing else
`,
};

/** An option's spellings as typed: --long and -s. */
function words(options: OptionSpecs): string[] {
  const out = ['-h', '--help'];
  for (const [long, o] of Object.entries(options)) out.push(`--${long}`, ...(o.short ? [`-${o.short}`] : []));
  return out;
}

/** The spellings of the options that take a value (the next word is not a command or option). */
function valued(options: OptionSpecs): string[] {
  return Object.entries(options)
    .filter(([, o]) => o.type === 'string')
    .flatMap(([long, o]) => [`--${long}`, ...(o.short ? [`-${o.short}`] : [])]);
}

async function commandSpecs(): Promise<{ top: Record<string, OptionSpecs>; docker: Record<string, CommandSpec> }> {
  const { LIST, SAVE, RESTORE } = await import('./table-commands.js');
  const { SUBCOMMANDS } = await import('./docker-commands.js');
  return {
    top: {
      list: LIST.options,
      save: SAVE.options,
      restore: RESTORE.options,
      // recover parses its own arguments: the common options (its back end is legacy) and --json.
      recover: { ...COMMON_OPTIONS, json: { type: 'boolean' } },
      docker: {},
      completion: COMPLETION.options,
      help: {},
    },
    docker: SUBCOMMANDS,
  };
}

const q = (list: readonly string[]): string => list.join(' ');

export async function bashCompletion(): Promise<string> {
  const { top, docker } = await commandSpecs();
  const specs: [string, OptionSpecs][] = [
    ...Object.entries(top).filter(([name]) => name !== 'docker'),
    ...Object.entries(docker).map(([sub, s]): [string, OptionSpecs] => [`"docker ${sub}"`, s.options]),
  ];
  const optionArms = specs.map(([key, o]) => `    ${key}) opts="${q(words(o))}" valued=" ${q(valued(o))} " ;;\n`).join('');
  const chainArms = Object.entries(BUILTIN_CHAINS)
    .map(([table, chains]) => `        ${table}) COMPREPLY=($(compgen -W "${q(chains)}" -- "$cur")) ;;\n`)
    .join('');
  return `# bash completion for iptkit (made by 'iptkit completion bash')
_iptkit() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="\${COMP_WORDS[1]}" key opts valued i first=2 table=filter positional=0
  COMPREPLY=()
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${q(Object.keys(top))} --help --version" -- "$cur"))
    return
  fi
  key=$cmd
  if [[ $cmd == docker ]]; then
    if [[ $COMP_CWORD -eq 2 ]]; then
      COMPREPLY=($(compgen -W "${q(Object.keys(docker))} help --help" -- "$cur"))
      return
    fi
    key="docker \${COMP_WORDS[2]}"
    first=3
  fi
  case "$key" in
${optionArms}    *) return ;;
  esac
  # The word after an option that takes a value is that value.
  if [[ $valued == *" $prev "* ]]; then
    case "$prev" in
      -t|--table|-T) COMPREPLY=($(compgen -W "${q(Object.keys(BUILTIN_CHAINS))}" -- "$cur")) ;;
      --backend) COMPREPLY=($(compgen -W "auto legacy nft" -- "$cur")) ;;
      --fail-on) COMPREPLY=($(compgen -W "error warning" -- "$cur")) ;;
      --netns)
        if [[ $cur == */* ]]; then COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null
        else COMPREPLY=($(compgen -W "$(ls /var/run/netns 2>/dev/null)" -- "$cur")); fi ;;
      --state|--ports|--hints) COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null ;;
    esac
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi
  # How many arguments come before this one (options and their values aside), and list's table.
  for ((i = first; i < COMP_CWORD; i++)); do
    if [[ $valued == *" \${COMP_WORDS[i]} "* ]]; then
      [[ $key == list && ( \${COMP_WORDS[i]} == -t || \${COMP_WORDS[i]} == --table ) ]] && table="\${COMP_WORDS[i+1]}"
      ((i++))
    elif [[ \${COMP_WORDS[i]} != -* ]]; then
      ((positional++))
    fi
  done
  case "$key" in
    list)
      [[ $positional -eq 0 ]] || return
      case "$table" in
${chainArms}      esac ;;
    help) [[ $positional -eq 0 ]] && COMPREPLY=($(compgen -W "${q(Object.keys(top).filter((c) => c !== 'help'))}" -- "$cur")) ;;
    completion) [[ $positional -eq 0 ]] && COMPREPLY=($(compgen -W "bash" -- "$cur")) ;;
    restore|"docker apply"|"docker doctor"|"docker repair")
      [[ $positional -eq 0 ]] && { COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; } ;;
  esac
}
complete -F _iptkit iptkit
`;
}

export async function completionCommand(argv: readonly string[], io: Io): Promise<number> {
  const p = parseCommand(COMPLETION, argv);
  if (p === 'help') return io.out(COMPLETION.help), 0;
  const shell = p.positional[0];
  if (shell !== 'bash') throw new UsageError(shell === undefined ? 'name the shell: iptkit completion bash' : `no completion for '${shell}': only bash`);
  io.out(await bashCompletion());
  return 0;
}
