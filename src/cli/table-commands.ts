// `iptkit list`, `iptkit save`, `iptkit restore`: the iptables -L, iptables-save and
// iptables-restore contracts of docs/design.md, on either back end; and `iptkit diff`, which
// is `restore --test`: what a restore would change, committing nothing.

import { BUILTIN_CHAINS, type Table, type TableName } from '../rules/model.js';
import { COMMON_OPTIONS, flagBool, flagString, InputError, parseCommand, UsageError, type CommandSpec, type OptionSpecs, type Parsed } from './args.js';
import type { RestoreOptions } from '../netfilter.js';
import { commonOpenOptions, familyOf, openFrom, readInput, type Io } from './common.js';

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
  --json                the table as JSON (docs/json.md, schemas/list.schema.json)

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
  --json                the tables as JSON (docs/json.md, schemas/save.schema.json)

${COMMON_HELP}`,
};

/** How restore and diff read their input (restoreOptions). */
const INPUT_OPTIONS = {
  ...COMMON_OPTIONS,
  noflush: { type: 'boolean', short: 'n' },
  counters: { type: 'boolean', short: 'c' },
  table: { type: 'string', short: 'T' },
  json: { type: 'boolean' },
} as const satisfies OptionSpecs;

export const RESTORE: CommandSpec = {
  name: 'restore',
  positionals: { max: 1, what: 'at most one FILE' },
  options: { ...INPUT_OPTIONS, test: { type: 'boolean', short: 't' }, verbose: { type: 'boolean', short: 'v' } },
  help: `usage: iptkit restore [-n] [-c] [-T TABLE] [--test [--json]] [-v] [FILE]

Commits iptables-restore input (FILE, or standard input when none or -), all tables in one
commit. The whole input is parsed first: a bad line commits nothing.

  -n, --noflush         keep what the input does not mention
  -c, --counters        take counters from the input
  -T, --table TABLE     restore only this table
  -t, --test            commit nothing; print what the restore would change, as iptkit diff
                        does (iptkit diff --help); exit 3 when something would change, 0 when
                        nothing would
  --json                with --test: the change as JSON (schemas/plan.schema.json)
  -v, --verbose         say what changed, on stderr

${COMMON_HELP}`,
};

export const DIFF: CommandSpec = {
  name: 'diff',
  positionals: { max: 1, what: 'at most one FILE' },
  options: INPUT_OPTIONS,
  help: `usage: iptkit diff [-n] [-c] [-T TABLE] [--json] [FILE]

Prints what 'iptkit restore FILE' (standard input when none or -) would change in the
kernel's tables, and commits nothing; the same as restore --test. The input runs against the
tables as a restore runs it (a line the restore would refuse is an error), and the change is
printed per table as iptables commands (-N, -P, -D, -I/-A, -F, -X) that, run in order with
'iptables -t TABLE', make the same change, then as # lines the rules each chain keeps:

  *filter
  -D INPUT -p tcp -m tcp --dport 22 -j ACCEPT
  -A INPUT -p tcp -m tcp --dport 2222 -j ACCEPT
  # INPUT: 1 rule kept
  COMMIT

Exit status: 3 when something would change, 0 (printing nothing) when nothing would, 1 for a
bad input.

  -n, --noflush         as restore -n: keep what the input does not mention
  -c, --counters        as restore -c
  -T, --table TABLE     only this table of the input
  --json                the change as JSON (docs/json.md, schemas/plan.schema.json)

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
  // The listing printer and the JSON documents load only for the output asked for.
  if (flagBool(p, 'json')) {
    const { jsonDocument, tableJson } = await import('./json.js');
    io.out(jsonDocument({ backend: nf.backend, family: nf.family, table: tableJson(table, chain) }));
    return 0;
  }
  const { formatListing } = await import('../rules/listing.js');
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
    const { jsonDocument, tableJson } = await import('./json.js');
    io.out(jsonDocument({ backend: nf.backend, family: nf.family, tables: tables.map((t) => tableJson(t)) }));
    return 0;
  }
  io.out(await nf.saveBytes({ ...(only ? { tables: [only] } : {}), counters: flagBool(p, 'counters') }));
  return 0;
}

export async function restoreCommand(argv: readonly string[], io: Io): Promise<number> {
  const p = parseCommand(RESTORE, argv);
  if (p === 'help') return io.out(RESTORE.help), 0;
  if (flagBool(p, 'test')) return restorePreview(p, io);
  if (flagBool(p, 'json')) throw new UsageError('--json goes with --test (restore itself prints nothing)', RESTORE.name);
  const family = familyOf(p);
  commonOpenOptions(p); // checked before standard input is read
  const text = readInput(p.positional[0], 'bytes');
  const nf = await openFrom(p, family);
  const result = await nf.restore(text, restoreOptions(p));
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

export async function diffCommand(argv: readonly string[], io: Io): Promise<number> {
  const p = parseCommand(DIFF, argv);
  if (p === 'help') return io.out(DIFF.help), 0;
  return restorePreview(p, io);
}

function restoreOptions(p: Parsed): RestoreOptions {
  const only = flagString(p, 'table');
  return { noflush: flagBool(p, 'noflush'), counters: flagBool(p, 'counters'), ...(only ? { table: only } : {}) };
}

/** diff and restore --test: the input runs against the kernel's tables uncommitted, then the change is shown. */
async function restorePreview(p: Parsed, io: Io): Promise<number> {
  const family = familyOf(p);
  commonOpenOptions(p); // checked before standard input is read
  const text = readInput(p.positional[0]);
  const nf = await openFrom(p, family);
  const options = restoreOptions(p);
  // Refuses what the restore would refuse (a rule or chain the kernel does not have).
  await nf.restore(text, { ...options, test: true });
  const { formatPreview, previewRestore, WOULD_CHANGE } = await import('./preview.js');
  const { jsonDocument } = await import('./json.js');
  const preview = await previewRestore(nf, text, options);
  io.out(flagBool(p, 'json') ? jsonDocument({ changed: preview.length > 0, tables: preview }) : formatPreview(preview));
  return preview.length ? WOULD_CHANGE : 0;
}
