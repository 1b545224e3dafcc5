#!/usr/bin/env node
// The `iptkit` command. Exit codes: 0 success; 1 a kernel, parse or state error (the message
// names the line, token or field, and nothing was committed); 2 a usage error.

import { ParseError, NetfilterError } from '../errors.js';
import { UsageError } from './args.js';
import { processIo, type Io } from './common.js';

const USAGE = `usage: iptkit <command> [options]

commands:
  list [-t TABLE] [-n] [-v] [-x] [--line-numbers] [CHAIN]   as iptables -L
  save [-t TABLE] [-c]                                       as iptables-save
  restore [-n] [-c] [-T TABLE] [--test] [FILE]               as iptables-restore (all tables in one commit)
  recover [-4|-6]                                            legacy: finish or roll back a killed multi-table commit
  docker apply|state|doctor|repair|publish|unpublish ...     Docker's chains (iptkit docker --help)

common options:
  --backend auto|legacy|nft   auto: the back end that holds rules, else nf_tables
  -4 | -6                     IPv4 (default) or IPv6 tables
  --netns NAME|PATH           work inside a network namespace (NAME means /var/run/netns/NAME)
  -w, --wait SECONDS          legacy: how long to wait for the xtables lock (default 10)
  --json                      machine-readable output (list, save, docker state/doctor)
`;

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
      case 'recover':
        return await (await import('./recover.js')).recoverCommand(rest, io);
      case 'docker':
        return await (await import('./docker-commands.js')).dockerCommand(rest, io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`iptkit: ${e.message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof ParseError) {
      io.err(`iptkit ${command}: ${e.message}\n`);
      return 1;
    }
    if (e instanceof NetfilterError) {
      io.err(`iptkit ${command}: ${e.message}\n`);
      return 1;
    }
    if (e instanceof TypeError || e instanceof RangeError) {
      io.err(`iptkit ${command}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

// Run when executed, not when imported by tests.
const invoked = process.argv[1] ?? '';
if (invoked.endsWith('/cli/main.js') || invoked.endsWith('/cli/main.ts') || invoked.endsWith('/iptkit')) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`iptkit: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
