// The one interface both back ends implement (legacy: x_tables socket options; nft: netlink). A back end reads
// tables and commits plans; the transaction loop (transaction.ts) runs read → plan → commit
// under the back end's guard (the xtables lock, or the ruleset generation) and retries when
// another writer got in between.

import type { Family, Table } from '../rules/model.js';
import type { HeldChains, TablePlan } from '../plan/plan.js';
import type { NativeCommitOutcome, NativeHeld, NativeHeldRead } from '../native-binding.js';

export type BackendKind = 'legacy' | 'nft';

export interface BackendOptions {
  family: Family;
  /** A path like /var/run/netns/NAME, or undefined for the caller's own namespace. */
  netns?: string;
  /** How long to wait for the xtables lock (legacy), like `iptables -w`. */
  lockTimeoutMs: number;
  /** The xtables lock file: $XTABLES_LOCKFILE or /run/xtables.lock. */
  lockPath: string;
}

/** What one guarded read saw; handed back to commit so it can check nothing moved. */
export interface Snapshot {
  tables: Table[];
  /** nft: the generation of the read. */
  generation?: number;
  /** nft: the cookie of the namespace read (SO_NETNS_COOKIE, never reused in a boot). */
  netns?: string;
  /** nft: per table, per chain, the handle of each rule (planner indices → handles). */
  handles?: Map<string, Float64Array[]>;
  /** nft: built-in chains shown (as iptables-nft-save does) but not in the kernel. */
  absentChains?: Map<string, Set<string>>;
  /** A read with `hold`: the chains kept natively (their chains in `tables` hold no rules). */
  held?: { ref: NativeHeld; chains: HeldChains };
  /** The tables the read asked for, present or not. */
  names?: readonly string[];
  /** Legacy, a read for reuse: the fingerprint of `names` (Backend.fingerprint) it is of. */
  fingerprint?: string;
  /** Legacy: kept tables not checked against the kernel yet; the commit checks them. */
  unchecked?: true;
}

/** Chains to hold natively in a read, per table (Netfilter.update's `hold`). */
export type Hold = Readonly<Record<string, readonly string[]>>;

/** Per table committed: what the addon did with it (see NativeCommitOutcome). */
export type CommitOutcomes = ReadonlyMap<string, NativeCommitOutcome>;

/** The held part of a readHolding result, as a Snapshot carries it. */
export function heldOf(r: NativeHeldRead): NonNullable<Snapshot['held']> {
  const chains = new Map<string, Map<string, { rules: number; interfaces: string[] }>>();
  for (const c of r.chains) {
    let t = chains.get(c.table);
    if (!t) chains.set(c.table, (t = new Map()));
    t.set(c.chain, { rules: c.rules, interfaces: c.interfaces });
  }
  return { ref: r.held, chains };
}

/** The per-table chain lists readHolding takes. */
export function holdLists(tables: readonly string[], hold: Hold): string[][] {
  return tables.map((t) => [...(hold[t] ?? [])]);
}

export interface Backend {
  readonly kind: BackendKind;
  readonly family: Family;
  /** Names of the tables that exist in the kernel now. */
  tableNames(): Promise<string[]>;
  /** An unguarded read (iptables-save does not lock either); `hold`: see Snapshot.held. */
  read(tables: readonly string[], hold?: Hold): Promise<Snapshot>;
  /**
   * A read that may give the snapshot kept from the last `keep` commit or reuse read (kept.ts),
   * when the back end proves nothing but counters changed since; a fresh read is kept instead.
   */
  readReusing(tables: readonly string[]): Promise<Snapshot>;
  /**
   * Runs `fn` with the guard held (legacy: the lock); `fn` reads and commits through the
   * given functions. Retrying is the caller's (transaction.ts).
   */
  guarded<T>(fn: (g: GuardedOps) => Promise<T>): Promise<T>;
  /**
   * What the tables hold now, as a string that is equal exactly when nothing but counters
   * changed in them (legacy: a digest of each table's entries; nft: the ruleset generation,
   * which every commit moves, so this is stricter). Unguarded: a check, not a plan.
   */
  fingerprint(tables: readonly string[]): Promise<string>;
}

export interface GuardedOps {
  /**
   * `reuse`: the snapshot the back end kept from its last `keep` commit (kept.ts), when it
   * proves nothing but counters changed in these tables since; otherwise a read.
   */
  read(tables: readonly string[], hold?: Hold, reuse?: boolean, check?: boolean): Promise<Snapshot>;
  /**
   * `keep`: keep the tables as committed, for a later read with `reuse`. `fingerprint`: the
   * caller asks for the fingerprint next (legacy: the commit then digests what it writes).
   */
  commit(snapshot: Snapshot, plans: readonly TablePlan[], keep?: boolean, fingerprint?: boolean): Promise<CommitOutcomes>;
  /** The tables the last `keep` commit left, when the back end could keep them. */
  kept(): readonly Table[] | undefined;
  /**
   * For a snapshot read `unchecked` (legacy kept tables): throws a retryable ESTALE when the
   * tables no longer hold what it says, so that a decision made on it (an error the caller
   * threw) is made again on a read.
   */
  check(snapshot: Snapshot): Promise<void>;
  /**
   * The fingerprint of the tables right after this guard's commit (or its read, if it committed
   * nothing), before anyone else can change them: legacy computes it under the lock it holds;
   * nft from the generation the commit was checked against (a committed batch moves it by one).
   */
  fingerprint(tables: readonly string[], snapshot: Snapshot, committed: boolean): Promise<string>;
}
