// The nf_tables back end: netlink in the addon, in the form iptables-nft writes. No lock: the
// read records the ruleset generation and the commit batch carries it, so the kernel refuses
// a commit if anything changed in between (ERESTART) and the transaction loop re-plans.

import { native } from '../binding.js';
import type { NativeHeldRead } from '../native-binding.js';
import { NetfilterError } from '../errors.js';
import type { CommitChain, TablePlan } from '../plan/plan.js';
import { BUILTIN_CHAINS, type Table, type TableName } from '../rules/model.js';
import { decodeTable, encodeCommitSteps } from '../rules/wire.js';
import { runStepsYielding } from '../turn.js';
import { heldOf, holdLists, type Backend, type BackendOptions, type CommitOutcomes, type GuardedOps, type Hold, type Snapshot } from './backend.js';
import { covers, restrict, snapshotAfter } from './kept.js';

// The order iptables-nft-save prints tables in, whatever order they were created in.
const TABLE_ORDER = ['mangle', 'security', 'raw', 'filter', 'nat'];

/**
 * A built-in chain the kernel does not have (`notThere`) that the commit leaves uncreated:
 * nothing is put in it and its policy stays the default.
 */
function untouched(notThere: ReadonlySet<string> | undefined, c: CommitChain): boolean {
  return (
    notThere !== undefined &&
    notThere.has(c.name) &&
    c.lines === undefined &&
    c.entries.length === 0 &&
    (c.policy === undefined || (c.policy === 'ACCEPT' && !c.policyCounters))
  );
}

/**
 * This process's own nf_tables commits whose outcome it knows (the kernel echoed them and the
 * batch made exactly the next generation): per namespace cookie, the generation each made and
 * the tables it changed. The generation is one for the whole namespace, so without this a kept
 * snapshot of the IPv6 tables would be given up at every IPv4 commit.
 */
const ownCommits = new Map<string, Map<number, { family: string; tables: readonly string[] }>>();
const OWN_COMMITS_KEPT = 64;

function ownCommit(netns: string, generation: number, family: string, tables: readonly string[]): void {
  let m = ownCommits.get(netns);
  if (!m) {
    // A bounded record: the namespaces least recently committed to go first.
    if (ownCommits.size >= OWN_COMMITS_KEPT) ownCommits.delete(ownCommits.keys().next().value!);
    m = new Map();
  } else {
    ownCommits.delete(netns);
  }
  ownCommits.set(netns, m);
  m.set(generation, { family, tables });
  if (m.size > OWN_COMMITS_KEPT) m.delete(m.keys().next().value!);
}

/**
 * Whether every generation after `from` up to `to`, in the namespace with this cookie, was made
 * by this process's own commits of iptables tables (which touch no other nf_tables table).
 */
export function onlyOwnCommitsSince(netns: string, from: number, to: number): boolean {
  return onlyOthersSince(netns, from, to, '', []);
}

/** Whether every generation after `from` up to `to` was made by an own commit that left `family`'s `tables` alone. */
function onlyOthersSince(netns: string, from: number, to: number, family: string, tables: readonly string[]): boolean {
  if (to === from) return true;
  if (to < from || to - from > OWN_COMMITS_KEPT) return false;
  const m = ownCommits.get(netns);
  for (let g = from + 1; g <= to; g++) {
    const c = m?.get(g);
    if (!c || (c.family === family && c.tables.some((t) => tables.includes(t)))) return false;
  }
  return true;
}

export class NftBackend implements Backend {
  readonly kind = 'nft' as const;
  readonly family;
  /** The tables as the last commit with `keep` left them, or a read for reuse (kept.ts). */
  private kept: Snapshot | undefined;

  constructor(private readonly opts: BackendOptions) {
    this.family = opts.family;
  }

  private get netns(): string | null {
    return this.opts.netns ?? null;
  }

  tableNames(): Promise<string[]> {
    return native.nftTableNames(this.family, this.netns);
  }

  async read(tables: readonly string[] | null, hold?: Hold): Promise<Snapshot> {
    let r;
    try {
      r = tables && hold
        ? await native.readHolding('nft', this.family, this.netns, [...tables], holdLists(tables, hold))
        : await native.nftRead(this.family, this.netns, tables ? [...tables] : null);
    } catch (e) {
      // One netlink dump serves all tables; name them, as the legacy read names its table.
      if (e instanceof NetfilterError && e.table === undefined && tables?.length) {
        throw new NetfilterError(e.message, { code: e.code, errno: e.errno, op: e.op, table: tables.join(','), backend: 'nft' });
      }
      throw e;
    }
    const out: Table[] = [];
    const handles = new Map<string, Float64Array[]>();
    const absent = new Map<string, Set<string>>();
    for (const read of r.tables) {
      // Rules written by `nft` directly stand in their chain like any rule (`# …`), so that
      // the planner keeps them where they are and printing can say what they are.
      const d = decodeTable(read);
      const perChain = d.handles ?? d.table.chains.map(() => new Float64Array(0));
      // iptables-nft creates a built-in chain only when a rule or policy needs it, and
      // iptables-nft-save shows the missing ones as `:CHAIN ACCEPT [0:0]`: so does iptkit.
      // The commit leaves them uncreated unless something is put in them.
      const missing = (BUILTIN_CHAINS[d.table.name as TableName] ?? []).filter((b) => !d.table.chains.some((c) => c.name === b));
      if (missing.length) {
        const chains = [...d.table.chains];
        const hs = [...perChain];
        for (const name of missing) {
          const at = BUILTIN_CHAINS[d.table.name as TableName]!.indexOf(name);
          chains.splice(at, 0, { name, policy: 'ACCEPT', counters: { packets: 0n, bytes: 0n }, rules: [], ruleCounters: new BigUint64Array(0) });
          hs.splice(at, 0, new Float64Array(0));
        }
        d.table.chains = chains;
        perChain.splice(0, perChain.length, ...hs);
        absent.set(d.table.name, new Set(missing));
      }
      out.push(d.table);
      handles.set(d.table.name, perChain);
    }
    out.sort((a, b) => TABLE_ORDER.indexOf(a.name) - TABLE_ORDER.indexOf(b.name));
    return {
      tables: out,
      generation: r.generation,
      ...('netns' in r && r.netns !== '0' ? { netns: r.netns } : {}),
      handles,
      absentChains: absent,
      ...(tables ? { names: [...tables] } : {}),
      ...('held' in r ? { held: heldOf(r as NativeHeldRead) } : {}),
    };
  }

  /**
   * The kept tables, when the namespace is the one they were read or committed in and the
   * ruleset is still at their generation, or moved on only by this process's own commits to
   * other tables (see ownCommits). Their snapshot then carries the generation of now, which
   * the commit is guarded by.
   */
  private async reuse(tables: readonly string[]): Promise<Snapshot> {
    let kept = this.kept;
    if (covers(kept, tables) && kept.netns !== undefined) {
      const now = await native.nftGeneration(this.netns);
      if (now.netns === kept.netns && onlyOthersSince(now.netns, kept.generation!, now.generation, this.family, kept.names)) {
        if (now.generation !== kept.generation) this.kept = kept = { ...kept, generation: now.generation };
        return restrict(kept, tables);
      }
    }
    // A read is consistent with the generation it reports: kept as it is.
    return (this.kept = await this.read(tables));
  }

  readReusing(tables: readonly string[]): Promise<Snapshot> {
    return this.reuse(tables);
  }

  guarded<T>(fn: (g: GuardedOps) => Promise<T>): Promise<T> {
    let kept: Snapshot | undefined;
    return fn({
      read: (tables, hold, reuse) => (reuse && !hold ? this.reuse(tables) : this.read(tables, hold)),
      commit: async (snapshot, plans, keep) => {
        const changed = plans.some((p) => !p.unchanged);
        if (changed) this.kept = undefined;
        const echo = changed && keep === true && snapshot.names !== undefined && !snapshot.held;
        const outcomes = await this.commit(snapshot, plans, echo);
        if (echo) {
          const made = [...outcomes.values()].find((o) => o.echo)?.echo;
          if (made) ownCommit(made.netns, made.generation, this.family, plans.filter((p) => !p.unchanged).map((p) => p.table));
          const after = snapshotAfter(this.family, snapshot, plans, outcomes, { stillAbsent: (t, c) => untouched(snapshot.absentChains?.get(t), c) });
          if (after && made && made.netns === snapshot.netns) kept = this.kept = { ...after, netns: made.netns };
        }
        return outcomes;
      },
      kept: () => kept?.tables,
      // A kept snapshot is checked (the generation) before anything is planned on it.
      check: () => Promise.resolve(),
      // The commit was checked against the read's generation, so a batch of it made exactly
      // the next one; whatever comes later is someone else's and moves it further.
      fingerprint: (_tables, snapshot, committed) => Promise.resolve(`generation ${(snapshot.generation ?? 0) + (committed ? 1 : 0)}`),
    });
  }

  async fingerprint(): Promise<string> {
    return `generation ${(await native.nftGeneration(this.netns)).generation}`;
  }

  /** `echo`: ask the kernel for the new rules' handles (NativeCommitOutcome.echo). */
  private async commit(snapshot: Snapshot, plans: readonly TablePlan[], echo = false): Promise<CommitOutcomes> {
    const changed = plans.filter((p) => !p.unchanged);
    if (changed.length === 0) return new Map();
    const wires: string[][] = [];
    for (const p of changed) {
      const table = snapshot.tables.find((t) => t.name === p.table);
      const perChain = snapshot.handles?.get(p.table) ?? [];
      const handleOf = new Map<string, Float64Array>();
      table?.chains.forEach((c, i) => handleOf.set(c.name, perChain[i] ?? new Float64Array(0)));
      // Planner indices → the kernel's rule handles.
      // Built-in chains the kernel does not have: all of them when the table is new.
      const notThere = table
        ? snapshot.absentChains?.get(p.table)
        : new Set<string>(BUILTIN_CHAINS[p.table as TableName] ?? []);
      const chains = p.chains.filter((c) => !untouched(notThere, c));
      // Planner indices → the kernel's rule handles, as the wire is written (in its slices).
      const keepAs = (chain: string, index: number): number => {
        const h = handleOf.get(chain)?.[index];
        if (h === undefined) throw new Error(`internal: chain ${chain} has no rule ${index} to keep`);
        return h;
      };
      wires.push(await runStepsYielding(encodeCommitSteps(p.table, this.family, chains, keepAs)));
    }
    const r = await native.nftCommit(this.family, this.netns, snapshot.generation ?? 0, wires, snapshot.held?.ref ?? null, echo);
    return new Map(changed.map((p, i) => [p.table, r[i]!]));
  }
}
