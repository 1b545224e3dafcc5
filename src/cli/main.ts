// The `iptkit` command. Exit codes: 0 success; 1 a kernel, parse, state or input error (one
// line naming the line, token, field or file; nothing was committed); 2 a usage error (one
// line, and the help to read); 3 diff, restore --test and docker apply --test: something would
// change; 70 a bug in iptkit (with its stack); 141 when the reader of the output went away, as
// for a tool killed by SIGPIPE (iptables-save | head).

// Static imports are what every run needs (a command loads the library when it runs): --help,
// --version and a usage error load nothing more.
import { readFileSync } from 'node:fs';
import { AddonLoadError, NetfilterError, ParseError } from '../errors.js';
import { didYouMean, InputError, UsageError } from './args.js';
import type { Io } from './common.js';

const USAGE = `usage: iptkit <command> [options]

commands:
  list [-t TABLE] [-n] [-v] [-x] [--line-numbers] [CHAIN]   as iptables -L
  save [-t TABLE] [-c]                                       as iptables-save
  restore [-n] [-c] [-T TABLE] [--test] [FILE]               as iptables-restore (all tables in one commit)
  diff [-n] [-c] [-T TABLE] [FILE]                           what restore FILE would change (= restore --test)
  recover [-4|-6]                                            legacy: finish or roll back a killed multi-table commit
  docker apply|state|doctor|repair|publish|unpublish ...     Docker's chains (iptkit docker --help)
  completion bash                                            print a bash completion script

common options:
  --backend auto|legacy|nft   auto: the back end that holds rules, else nf_tables
  -4 | -6                     IPv4 (default) or IPv6 tables
  --netns NAME|PATH           work inside a network namespace (NAME means /var/run/netns/NAME)
  -w, --wait SECONDS          legacy: how long to wait for the xtables lock (default 10)
  --json                      machine-readable output (list, save, diff, docker; docs/json.md)

'iptkit COMMAND --help' describes one command; 'iptkit --version' prints the version.
`;

const COMMANDS = ['list', 'save', 'restore', 'diff', 'recover', 'docker', 'completion', 'help'];

/**
 * Messages V8 gives its own TypeErrors and RangeErrors: those are bugs in iptkit, whereas the
 * library's TypeError/RangeError name a field and a value the caller gave.
 */
const ENGINE_ERROR =
  /Cannot (read|set) propert|is not a function|is not iterable|is not a constructor|Cannot convert|Cannot destructure|Maximum call stack|Invalid (array|string) length|before initialization|Assignment to constant|Do not know how to serialize/;

async function version(): Promise<string> {
  const { packageRoot } = await import('../binding.js');
  const pkg = JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string };
  return pkg.version;
}

/** The process's own standard output and error. */
export const processIo: Io = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      // Each command loads only its own modules: a one-shot run starts like a native tool.
      case 'list':
      case '-L':
        return await (await import('./table-commands.js')).listCommand(rest, io);
      case 'save':
        return await (await import('./table-commands.js')).saveCommand(rest, io);
      case 'restore':
        return await (await import('./table-commands.js')).restoreCommand(rest, io);
      case 'diff':
        return await (await import('./table-commands.js')).diffCommand(rest, io);
      case 'recover':
        return await (await import('./recover.js')).recoverCommand(rest, io);
      case 'docker':
        return await (await import('./docker-commands.js')).dockerCommand(rest, io);
      case 'completion':
        return await (await import('./completion.js')).completionCommand(rest, io);
      case '-V':
      case '--version':
      case 'version':
        io.out(`iptkit ${await version()}\n`);
        return 0;
      case '-h':
      case '--help':
        io.out(USAGE);
        return 0;
      case 'help':
        if (rest[0] !== undefined && rest[0] !== 'help') return await main([rest[0], '--help', ...rest.slice(1)], io);
        io.out(USAGE);
        return 0;
      case undefined:
        io.err(USAGE);
        return 2;
      default: {
        if (command.startsWith('-')) throw new UsageError(`'${command}' is not a command: options come after the command (iptkit list ${command} …)`);
        const guess = didYouMean(command, COMMANDS);
        throw new UsageError(`unknown command '${command}'${guess ? ` (did you mean ${guess}?)` : ''}`);
      }
    }
  } catch (e) {
    const prefix = `iptkit${command && COMMANDS.includes(command) ? ` ${command}` : ''}`;
    if (e instanceof UsageError) {
      const where = e.command ?? (command && COMMANDS.includes(command) ? command : undefined);
      io.err(`iptkit${where ? ` ${where}` : ''}: ${e.message} (see 'iptkit${where ? ` ${where}` : ''} --help')\n`);
      return 2;
    }
    if (e instanceof ParseError || e instanceof NetfilterError || e instanceof InputError || e instanceof AddonLoadError) {
      io.err(`${prefix}: ${e.message}\n`);
      return 1;
    }
    if ((e instanceof TypeError || e instanceof RangeError) && !ENGINE_ERROR.test(e.message)) {
      io.err(`${prefix}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
