// The rules inferState and doctor read: per table, its chains in order with their rules, each
// the canonical text after `-A CHAIN ` (counters dropped). From iptables-save text
// (readSaves), or straight from tables read from the kernel (tablesOf), whose rules already
// are that text.

import { BUILTIN_CHAINS, isForeignRule, type Family, type Table, type TableName } from '../rules/model.js';

/** The iptables-save text of each table of one family, as `iptables-save -t TABLE` prints it. */
export interface FamilySaves {
  family: Family;
  tables: Record<string, string>;
}

export interface SavedChain {
  name: string;
  /** `ACCEPT`/`DROP` for a built-in chain, `-` for a user-defined one. */
  policy: string;
  rules: readonly string[];
}

export type SavedTable = Map<string, SavedChain>;

/**
 * Parses one table's text. A `*table` header selects the table; text holding several tables
 * keeps only `table`'s part. Rule lines may carry `[packets:bytes]` counters (`-c`).
 */
export function parseSavedTable(text: string, table: string): SavedTable {
  const chains: SavedTable = new Map();
  const hasHeaders = /^\*/m.test(text);
  let current = hasHeaders ? '' : table;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      current = line.slice(1).trim();
      continue;
    }
    if (current !== table || line === 'COMMIT') continue;
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(/\s+/);
      if (name) chains.set(name, { name, policy: policy ?? '-', rules: [] });
      continue;
    }
    const m = /^(?:\[\d+:\d+\]\s+)?-A\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const chain = m[1]!;
    if (!chains.has(chain)) chains.set(chain, { name: chain, policy: '-', rules: [] });
    (chains.get(chain)!.rules as string[]).push((m[2] ?? '').trim());
  }
  return chains;
}

export interface FamilyTables {
  family: Family;
  tables: Map<string, SavedTable>;
}

export function readSaves(saves: readonly FamilySaves[]): FamilyTables[] {
  return saves.map((s) => ({
    family: s.family,
    tables: new Map(Object.entries(s.tables).map(([name, text]) => [name, parseSavedTable(text, name)])),
  }));
}

/**
 * One family's tables as read from the kernel, without printing them: the chains' rule arrays
 * are used as they are. Rules written by `nft` directly (`# …`) are left out, as iptables-save
 * text would show them only as comments.
 */
/**
 * Tables read from the kernel, split into rules. `complete`: the tables the read was for; one
 * the kernel does not have (a fresh namespace, or nf_tables before anyone wrote to it) is what
 * iptables shows of it, its built-in chains empty, so that whatever a state wants there is
 * missing rather than not looked at. (A save text, by contrast, judges only the tables it holds.)
 */
export function tablesOf(family: Family, tables: readonly Table[], complete: readonly TableName[] = []): FamilyTables {
  const out = new Map<string, SavedTable>();
  for (const t of tables) {
    const chains: SavedTable = new Map();
    for (const c of t.chains) {
      const rules = c.rules.some(isForeignRule) ? c.rules.filter((r) => !isForeignRule(r)) : c.rules;
      chains.set(c.name, { name: c.name, policy: c.policy ?? '-', rules });
    }
    out.set(t.name, chains);
  }
  for (const name of complete) {
    if (!out.has(name)) out.set(name, new Map(BUILTIN_CHAINS[name].map((c): [string, SavedChain] => [c, { name: c, policy: 'ACCEPT', rules: [] }])));
  }
  return { family, tables: out };
}

export function rulesOf(t: FamilyTables, table: string, chain: string): readonly string[] {
  return t.tables.get(table)?.get(chain)?.rules ?? [];
}

export function hasChain(t: FamilyTables, table: string, chain: string): boolean {
  return t.tables.get(table)?.has(chain) ?? false;
}
