// The `iptables -L` listing of a table, printed by the native dialect chain by chain (header,
// column header, one line per rule, as iptables-legacy 1.8.9 prints them for the same flags),
// with a blank line between chains. Two deliberate differences: the prot column always shows
// names (all, tcp, …) as older iptables did, and without -n no names are looked up (no DNS):
// `anywhere` for 0/0, numbers otherwise, where iptables would print host and network names.

import { nativeDialect } from '../binding.js';
import type { Chain, Table } from './model.js';

export interface ListingOptions {
  /** -n */
  numeric?: boolean;
  /** -v: counters and the in/out columns. */
  verbose?: boolean;
  /** -x: exact counters instead of K/M/G. */
  exact?: boolean;
  /** --line-numbers */
  lineNumbers?: boolean;
  /** List only this chain. */
  chain?: string;
}

function references(table: Table, name: string): number {
  let refs = 0;
  const tail = new RegExp(`(?:^| )-[jg] ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  for (const c of table.chains) for (const r of c.rules) if (tail.test(r)) refs++;
  return refs;
}

function listChain(table: Table, chain: Chain, opts: ListingOptions): string {
  const head = {
    name: chain.name,
    policy: chain.policy ?? null,
    packets: chain.counters?.packets ?? 0n,
    bytes: chain.counters?.bytes ?? 0n,
    references: chain.policy !== undefined ? 0 : (chain.references ?? references(table, chain.name)),
  };
  const flags = { numeric: opts.numeric ?? false, verbose: opts.verbose ?? false, exact: opts.exact ?? false, lineNumbers: opts.lineNumbers ?? false };
  return nativeDialect.listChain(table.family, head, chain.rules, chain.ruleCounters ?? new BigUint64Array(0), flags);
}

/** What `iptables -L` prints for the table (or one chain) with these flags. */
export function formatListing(table: Table, opts: ListingOptions = {}): string {
  const chains = opts.chain !== undefined ? table.chains.filter((c) => c.name === opts.chain) : table.chains;
  if (opts.chain !== undefined && chains.length === 0) {
    throw new RangeError(`No chain/target/match by that name: ${opts.chain} (table ${table.name})`);
  }
  return chains.map((c) => listChain(table, c, opts)).join('\n');
}
