// iptables-save text taken apart, so that a Table (a read, or what restoreResult computes) is
// compared with what a real tool printed rule text for rule text, without printing the Table:
// iptkit's one iptables-save printer is the native one behind Netfilter.save.

import type { Table } from '../../src/rules/model.js';

/** `:CHAIN POLICY [p:b]` as [CHAIN, POLICY, 'p:b']; a user chain's policy is `-`. */
export type SavedChain = [name: string, policy: string, counters: string];
/** `[p:b] -A CHAIN RULE` as [CHAIN, RULE, 'p:b'], `-A CHAIN RULE` as [CHAIN, RULE]. */
export type SavedRule = [chain: string, rule: string, counters?: string];

export interface SavedTable {
  chains: SavedChain[];
  rules: SavedRule[];
}

/** Each `*table` of iptables-save text, its chain lines and its rule lines taken apart. */
export function savedTables(text: string): Map<string, SavedTable> {
  const out = new Map<string, SavedTable>();
  let cur: SavedTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) out.set(line.slice(1), (cur = { chains: [], rules: [] }));
    else if (line.startsWith(':')) cur!.chains.push(line.slice(1).split(' ') as SavedChain);
    else if (/^(\[\d+:\d+\] )?-A /.test(line)) {
      const m = /^(?:\[(\d+:\d+)\] )?-A (\S+) ?(.*)$/.exec(line)!;
      cur!.rules.push(m[1] !== undefined ? [m[2]!, m[3]!, m[1]] : [m[2]!, m[3]!]);
    }
  }
  for (const t of out.values()) for (const c of t.chains) c[2] = c[2].slice(1, -1);
  return out;
}

/** The one table of iptables-save text. */
export function savedTable(text: string): SavedTable {
  const tables = [...savedTables(text).values()];
  if (tables.length !== 1) throw new Error(`expected one table, got ${tables.length}`);
  return tables[0]!;
}

/** A Table as savedTables gives a saved one (`counters`: rules carry theirs, as with -c). */
export function tableSaved(t: Table, counters = false): SavedTable {
  return {
    chains: t.chains.map((c): SavedChain => [c.name, c.policy ?? '-', `${c.counters?.packets ?? 0n}:${c.counters?.bytes ?? 0n}`]),
    rules: t.chains.flatMap((c) =>
      c.rules.map((r, i): SavedRule => (counters ? [c.name, r, `${c.ruleCounters?.[2 * i] ?? 0n}:${c.ruleCounters?.[2 * i + 1] ?? 0n}`] : [c.name, r])),
    ),
  };
}
