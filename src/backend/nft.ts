// The nf_tables back end: netlink in the addon, in the form iptables-nft writes. No lock: the
// read records the ruleset generation and the commit batch carries it, so the kernel refuses
// a commit if anything changed in between (ERESTART) and the transaction loop re-plans.

import { native } from '../binding.js';
import type { CommitChain, TablePlan } from '../plan/plan.js';
import type { Table } from '../rules/model.js';
import { decodeTable, encodeCommit } from '../rules/wire.js';
import type { Backend, BackendOptions, GuardedOps, Snapshot } from './backend.js';

export class NftBackend implements Backend {
  readonly kind = 'nft' as const;
  readonly family;

  constructor(private readonly opts: BackendOptions) {
    this.family = opts.family;
  }

  private get netns(): string | null {
    return this.opts.netns ?? null;
  }

  async tableNames(): Promise<string[]> {
    const r = await native.nftRead(this.family, this.netns, null);
    return r.tables.map((w) => decodeTable(w).table.name);
  }

  async read(tables: readonly string[] | null): Promise<Snapshot> {
    const r = await native.nftRead(this.family, this.netns, tables ? [...tables] : null);
    const out: Table[] = [];
    const handles = new Map<string, number[][]>();
    for (const wire of r.tables) {
      const d = decodeTable(wire);
      const perChain = d.handles ?? d.table.chains.map(() => []);
      // Rules written by `nft` directly stand in their chain like any rule (marked foreign),
      // so that the planner keeps them where they are and printing can say what they are.
      const inserted = new Map<string, number>();
      for (const f of d.foreign ?? []) {
        const ci = d.table.chains.findIndex((c) => c.name === f.chain);
        if (ci < 0) continue;
        const at = f.position + (inserted.get(f.chain) ?? 0);
        d.table.chains[ci]!.rules.splice(at, 0, { matches: [], target: { kind: 'none' }, foreign: f.text });
        (perChain[ci] ??= []).splice(at, 0, f.handle);
        inserted.set(f.chain, (inserted.get(f.chain) ?? 0) + 1);
      }
      out.push(d.table);
      handles.set(d.table.name, perChain);
    }
    return { tables: out, generation: r.generation, handles };
  }

  guarded<T>(fn: (g: GuardedOps) => Promise<T>): Promise<T> {
    return fn({
      read: (tables) => this.read(tables),
      commit: (snapshot, plans) => this.commit(snapshot, plans),
    });
  }

  private async commit(snapshot: Snapshot, plans: readonly TablePlan[]): Promise<void> {
    const changed = plans.filter((p) => !p.unchanged);
    if (changed.length === 0) return;
    const wires = changed.map((p) => {
      const table = snapshot.tables.find((t) => t.name === p.table);
      const perChain = snapshot.handles?.get(p.table) ?? [];
      const handleOf = new Map<string, number[]>();
      table?.chains.forEach((c, i) => handleOf.set(c.name, perChain[i] ?? []));
      // Planner indices → the kernel's rule handles.
      const chains: CommitChain[] = p.chains.map((c) => {
        const hs = handleOf.get(c.name) ?? [];
        return {
          ...c,
          entries: c.entries.map((e) => {
            if (!('keep' in e)) return e;
            const h = hs[e.keep];
            if (h === undefined) throw new Error(`internal: chain ${c.name} has no rule ${e.keep} to keep`);
            return { keep: h };
          }),
        };
      });
      return encodeCommit(p.table, this.family, chains, true);
    });
    await native.nftCommit(this.family, this.netns, snapshot.generation ?? 0, wires);
  }
}
