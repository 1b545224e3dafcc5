// The tables as a commit left them, kept by the back end for the next guarded read of a caller
// that asks for reuse (Netfilter.update's `reuse`): when the back end proves nothing changed
// since (nf_tables: the ruleset generation the commit made; legacy: a digest of the entries),
// that read gives these tables again instead of reading and decoding every rule. A Docker host
// with 10,000 published ports then publishes one more from the size of the change, not of the
// host.
//
// What a fresh read would give, rule for rule: kept rules keep their text (and nf_tables
// handle); new rules are the plan's texts in canonical form (as iptables-save prints them) with
// the handles the kernel echoed. Counters are those of the read before the commit (new rules
// zero): a caller that reuses plans by text, never by counters. A commit that creates or
// deletes a table or chain keeps nothing: the chain order of a fresh read is the kernel's.

import { nativeDialect } from '../binding.js';
import type { CommitChain, TablePlan } from '../plan/plan.js';
import type { Chain, Family, Table } from '../rules/model.js';
import type { CommitOutcomes, Snapshot } from './backend.js';

/**
 * Whether a kept snapshot answers a read of `tables` (every name among those it was read
 * for). How to know it still holds is the back end's: its `generation` and `netns` (nf_tables),
 * its `fingerprint` (legacy).
 */
export function covers(kept: Snapshot | undefined, tables: readonly string[]): kept is Snapshot & { names: readonly string[] } {
  return kept?.names !== undefined && tables.every((t) => kept.names!.includes(t));
}

/**
 * The part of a kept snapshot a read of `tables` asked for, naming only those: a commit planned
 * on it keeps no more than it read (the same tables array while none is left out).
 */
export function restrict(s: Snapshot, tables: readonly string[]): Snapshot {
  const all = s.tables.every((t) => tables.includes(t.name));
  if (all && s.names?.length === tables.length && tables.every((t) => s.names!.includes(t))) return s;
  return { ...s, tables: all ? s.tables : s.tables.filter((t) => tables.includes(t.name)), names: [...tables] };
}

/**
 * The snapshot after `plans` were committed on `before`, or undefined when it cannot be known
 * exactly. nf_tables: every committed table's outcome must carry the kernel's echo (its new
 * rules' handles in plan order); `stillAbsent(table, chain)` says which of the read's absent
 * built-in chains the commit did not create.
 */
export function snapshotAfter(
  family: Family,
  before: Snapshot,
  plans: readonly TablePlan[],
  outcomes: CommitOutcomes,
  nft?: { stillAbsent: (table: string, chain: CommitChain) => boolean },
): Snapshot | undefined {
  const changed = plans.filter((p) => !p.unchanged);
  if (before.held) return undefined;
  // Every new rule's text, canonical, in one call.
  const texts: string[] = [];
  for (const p of changed) {
    for (const c of p.chains) {
      if (c.lines !== undefined) return undefined;
      for (const e of c.entries) if (!('keep' in e)) texts.push(e.rule);
    }
  }
  const canon = new Map<string, string>();
  try {
    const out = texts.length > 0 ? nativeDialect.canonical(family, texts) : [];
    texts.forEach((t, i) => canon.set(t, out[i]!));
  } catch {
    return undefined;
  }
  const tables: Table[] = [];
  const handles = nft ? new Map(before.handles) : undefined;
  const absent = nft ? new Map(before.absentChains) : undefined;
  let generation = before.generation;
  for (const t of before.tables) {
    const p = changed.find((x) => x.table === t.name);
    if (!p) {
      tables.push(t);
      continue;
    }
    if (p.chains.length !== t.chains.length || !p.chains.every((c) => t.chains.some((o) => o.name === c.name))) return undefined;
    const echo = nft ? outcomes.get(p.table)?.echo : undefined;
    if (nft && echo === undefined) return undefined;
    if (echo) generation = echo.generation;
    // Where each plan chain's new rules start among the echoed handles (plan order).
    const echoAt = new Map<string, number>();
    let adds = 0;
    for (const c of p.chains) {
      echoAt.set(c.name, adds);
      for (const e of c.entries) if (!('keep' in e)) adds++;
    }
    if (echo && echo.handles.length !== adds) return undefined;
    const oldHandles = before.handles?.get(t.name);
    const newHandles: Float64Array[] = [];
    const chains: Chain[] = t.chains.map((old, ci) => {
      const c = p.chains.find((x) => x.name === old.name)!;
      const n = c.entries.length;
      const rules = new Array<string>(n);
      const counters = new BigUint64Array(2 * n);
      const hs = new Float64Array(nft ? n : 0);
      let k = echoAt.get(c.name)!;
      const oldHs = oldHandles?.[ci];
      for (let j = 0; j < n; ) {
        const e = c.entries[j]!;
        if ('keep' in e) {
          // A run of rules kept as they were, copied at once (a chain of thousands changes by one).
          let r = 1;
          while (j + r < n && (c.entries[j + r] as { keep?: number }).keep === e.keep + r) r++;
          for (let x = 0; x < r; x++) rules[j + x] = old.rules[e.keep + x]!;
          if (old.ruleCounters) counters.set(old.ruleCounters.subarray(2 * e.keep, 2 * (e.keep + r)), 2 * j);
          if (nft) {
            if (!oldHs || e.keep + r > oldHs.length) throw new Error(`internal: chain ${old.name} keeps a rule it has no handle for`);
            hs.set(oldHs.subarray(e.keep, e.keep + r), j);
          }
          j += r;
        } else {
          rules[j] = canon.get(e.rule)!;
          if (e.counters) {
            counters[2 * j] = e.counters.packets;
            counters[2 * j + 1] = e.counters.bytes;
          }
          if (nft) hs[j] = echo!.handles[k++]!;
          j++;
        }
      }
      newHandles.push(hs);
      const chain: Chain = { name: old.name, rules, ruleCounters: counters };
      if (old.policy !== undefined) {
        chain.policy = c.policy ?? old.policy;
        chain.counters = c.policyCounters ?? old.counters ?? { packets: 0n, bytes: 0n };
      }
      // A user chain's `references` (how many rules jump to it) is left out: the commit may have
      // changed it, and only listings, which read afresh, use it.
      return chain;
    });
    tables.push({ name: t.name, family: t.family, chains });
    if (handles) handles.set(t.name, newHandles);
    if (absent && nft) {
      const was = before.absentChains?.get(t.name);
      if (was) absent.set(t.name, new Set([...was].filter((name) => nft.stillAbsent(t.name, p.chains.find((c) => c.name === name)!))));
    }
  }
  // A table the commit created: its chain order is the kernel's, not known here.
  if (changed.some((p) => !before.tables.some((t) => t.name === p.table))) return undefined;
  return {
    tables,
    ...(generation !== undefined ? { generation } : {}),
    ...(handles ? { handles } : {}),
    ...(absent ? { absentChains: absent } : {}),
    ...(before.names ? { names: before.names } : {}),
  };
}
