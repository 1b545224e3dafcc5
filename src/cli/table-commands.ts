// `iptkit list`, `iptkit save`, `iptkit restore`: the iptables -L, iptables-save and
// iptables-restore contracts of docs/design.md, on either back end.

import { formatListing } from '../rules/listing.js';
import { BUILTIN_CHAINS, type Table, type TableName } from '../rules/model.js';
import { COMMON_OPTIONS, flagBool, flagString, InputError, parseCommand, type CommandSpec } from './args.js';
import { commonOpenOptions, familyOf, openFrom, readInput, toJson, type Io } from './common.js';

const COMMON_HELP = `common options:
  --backend auto|legacy|nft   auto: the back end that holds rules, else nf_tables
  -4, --ipv4 | -6, --ipv6     IPv4 (default) or IPv6 tables
  --netns NAME|PATH           work inside a network namespace (NAME means /var/run/netns/NAME)
  -w, --wait SECONDS          legacy: how long to wait for the xtables lock (default 10)
  -h, --help                  print this help and do nothing else
`;

export const LIST: CommandSpec = {
  name: 'list',
  positionals: { max: 1, what: 'at most one CHAIN' },
  options: {
    ...COMMON_OPTIONS,
    table: { type: 'string', short: 't' },
    numeric: { type: 'boolean', short: 'n' },
    verbose: { type: 'boolean', short: 'v' },
    exact: { type: 'boolean', short: 'x' },
    'line-numbers': { type: 'boolean' },
    list: { type: 'boolean', short: 'L' },
    json: { type: 'boolean' },
  },
  help: `usage: iptkit list [-t TABLE] [-n] [-v] [-x] [--line-numbers] [--json] [CHAIN]

Lists a table's chains and rules as iptables -L does (the prot column shows names).
A table the kernel does not hold yet lists as its built-in chains, empty.

  -t, --table TABLE     filter (default), nat, mangle, raw or security
  -n, --numeric         numeric addresses and ports
  -v, --verbose         interfaces, options and counters
  -x, --exact           exact counters
  --line-numbers        number the rules
  --json                the table as JSON

${COMMON_HELP}`,
};

export const SAVE: CommandSpec = {
  name: 'save',
  positionals: { max: 0, what: '' },
  options: { ...COMMON_OPTIONS, table: { type: 'string', short: 't' }, counters: { type: 'boolean', short: 'c' }, json: { type: 'boolean' } },
  help: `usage: iptkit save [-t TABLE] [-c] [--json]

Prints the tables as iptables-save does.

  -t, --table TABLE     only this table
  -c, --counters        rule and policy counters
  --json                the tables as JSON

${COMMON_HELP}`,
};

/** restore --test: the input is good and committing it would change the kernel. */
export const WOULD_CHANGE = 3;

export const RESTORE: CommandSpec = {
  name: 'restore',
  positionals: { max: 1, what: 'at most one FILE' },
  options: {
    ...COMMON_OPTIONS,
    noflush: { type: 'boolean', short: 'n' },
    counters: { type: 'boolean', short: 'c' },
    table: { type: 'string', short: 'T' },
    test: { type: 'boolean', short: 't' },
    verbose: { type: 'boolean', short: 'v' },
  },
  help: `usage: iptkit restore [-n] [-c] [-T TABLE] [--test] [-v] [FILE]

Commits iptables-restore input (FILE, or standard input when none or -), all tables in one
commit. The whole input is parsed first: a bad line commits nothing.

  -n, --noflush         keep what the input does not mention
  -c, --counters        take counters from the input
  -T, --table TABLE     restore only this table
  -t, --test            parse and plan against the kernel, commit nothing; print the change as
                        iptables commands per table (-N, -P, -D, -I/-A, -F, -X) and the rules
                        each chain keeps; exit 3 when something would change, 0 when nothing
  -v, --verbose         say what changed, on stderr

${COMMON_HELP}`,
};

/** A table the kernel does not hold (nf_tables makes them on demand), as iptables -L shows it. */
function emptyTable(name: string, family: Table['family']): Table | undefined {
  const builtins = BUILTIN_CHAINS[name as TableName];
  if (builtins === undefined) return undefined;
  return {
    name,
    family,
    chains: builtins.map((c) => ({ name: c, policy: 'ACCEPT' as const, counters: { packets: 0n, bytes: 0n }, rules: [] })),
  };
}

export async function listCommand(argv: readonly string[], io: Io): Promise<number> {
  const p = parseCommand(LIST, argv);
  if (p === 'help') return io.out(LIST.help), 0;
  const tableName = flagString(p, 'table') ?? 'filter';
  const chain = p.positional[0];
  const nf = await openFrom(p);
  const table = (await nf.read([tableName]))[0] ?? emptyTable(tableName, nf.family);
  if (!table) throw new InputError(`table '${tableName}' does not exist`);
  if (chain !== undefined && !table.chains.some((c) => c.name === chain)) {
    throw new InputError(`chain '${chain}' does not exist in table ${tableName}: No chain/target/match by that name`);
  }
  if (flagBool(p, 'json')) {
    io.out(toJson(chain ? { ...table, chains: table.chains.filter((c) => c.name === chain) } : table) + '\n');
    return 0;
  }
  io.out(
    formatListing(table, {
      numeric: flagBool(p, 'numeric'),
      verbose: flagBool(p, 'verbose'),
      exact: flagBool(p, 'exact'),
      lineNumbers: flagBool(p, 'line-numbers'),
      ...(chain !== undefined ? { chain } : {}),
    }),
  );
  return 0;
}

export async function saveCommand(argv: readonly string[], io: Io): Promise<number> {
  const p = parseCommand(SAVE, argv);
  if (p === 'help') return io.out(SAVE.help), 0;
  const nf = await openFrom(p);
  const only = flagString(p, 'table');
  if (flagBool(p, 'json')) {
    const tables = await nf.read(only ? [only] : undefined);
    io.out(toJson({ backend: nf.backend, family: nf.family, tables }) + '\n');
    return 0;
  }
  io.out(await nf.saveBytes({ ...(only ? { tables: [only] } : {}), counters: flagBool(p, 'counters') }));
  return 0;
}

export async function restoreCommand(argv: readonly string[], io: Io): Promise<number> {
  const p = parseCommand(RESTORE, argv);
  if (p === 'help') return io.out(RESTORE.help), 0;
  const family = familyOf(p);
  commonOpenOptions(p); // checked before standard input is read
  const text = readInput(p.positional[0]);
  const only = flagString(p, 'table');
  const nf = await openFrom(p, family);
  const options = { noflush: flagBool(p, 'noflush'), counters: flagBool(p, 'counters'), test: flagBool(p, 'test'), ...(only ? { table: only } : {}) };
  const result = await nf.restore(text, options);
  if (options.test) {
    // The input ran against the kernel's tables without a commit; now say what it would change.
    const preview = await (await import('./preview.js')).previewRestore(nf, text, options);
    io.out(preview.text);
    return preview.changed ? WOULD_CHANGE : 0;
  }
  if (result && flagBool(p, 'verbose')) {
    io.err(
      `iptkit restore: ${nf.backend}: ${result.changed.length ? result.changed.join(', ') : 'nothing'} changed; ` +
        (result.appendOnly
          ? `${result.added} rules appended without reading the tables\n`
          : `${result.added} rules added, ${result.deleted} deleted, ${result.kept} kept (attempts: ${result.attempts})\n`),
    );
  }
  return 0;
}
