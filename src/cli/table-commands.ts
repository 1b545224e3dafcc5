// `iptkit list`, `iptkit save`, `iptkit restore`: the iptables -L, iptables-save and
// iptables-restore contracts of docs/design.md, on either back end.

import { formatListing } from '../rules/listing.js';
import { flagBool, flagString, parseArgs, UsageError } from './args.js';
import { familyOf, openFrom, readInput, toJson, type Io } from './common.js';

export async function listCommand(argv: readonly string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [
    { names: ['-t', '--table'], key: 'table', value: true },
    { names: ['-n', '--numeric'], key: 'numeric' },
    { names: ['-v', '--verbose'], key: 'verbose' },
    { names: ['-x', '--exact'], key: 'exact' },
    { names: ['--line-numbers'], key: 'lineNumbers' },
    { names: ['-L', '--list'], key: 'list' },
  ]);
  if (p.positional.length > 1) throw new UsageError(`list takes at most one chain, got ${p.positional.join(' ')}`);
  const tableName = flagString(p, 'table') ?? 'filter';
  const chain = p.positional[0];
  const nf = await openFrom(p);
  const [table] = await nf.read([tableName]);
  if (!table) throw new UsageError(`table '${tableName}' does not exist (is its kernel module available?)`);
  if (chain !== undefined && !table.chains.some((c) => c.name === chain)) {
    io.err(`iptkit: chain '${chain}' does not exist in table ${tableName}: No chain/target/match by that name.\n`);
    return 1;
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
      lineNumbers: flagBool(p, 'lineNumbers'),
      ...(chain !== undefined ? { chain } : {}),
    }),
  );
  return 0;
}

export async function saveCommand(argv: readonly string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [
    { names: ['-t', '--table'], key: 'table', value: true },
    { names: ['-c', '--counters'], key: 'counters' },
  ]);
  if (p.positional.length) throw new UsageError(`save takes no arguments, got '${p.positional[0]}'`);
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
  const p = parseArgs(argv, [
    { names: ['-n', '--noflush'], key: 'noflush' },
    { names: ['-c', '--counters'], key: 'counters' },
    { names: ['-T', '--table'], key: 'table', value: true },
    { names: ['-t', '--test'], key: 'test' },
    { names: ['-v', '--verbose'], key: 'verbose' },
  ]);
  if (p.positional.length > 1) throw new UsageError(`restore takes at most one file, got ${p.positional.join(' ')}`);
  const family = familyOf(p);
  const text = readInput(p.positional[0]);
  const only = flagString(p, 'table');
  const nf = await openFrom(p, family);
  const result = await nf.restore(text, {
    noflush: flagBool(p, 'noflush'),
    counters: flagBool(p, 'counters'),
    test: flagBool(p, 'test'),
    ...(only ? { table: only } : {}),
  });
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
