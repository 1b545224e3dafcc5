// The one interface both back ends implement (legacy: libiptc; nft: netlink). A back end reads
// tables and commits plans; the transaction loop (transaction.ts) runs read → plan → commit
// under the back end's guard (the xtables lock, or the ruleset generation) and retries when
// another writer got in between.

import type { Family, Table } from '../rules/model.js';
import type { TablePlan } from '../plan/plan.js';

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
  /** nft: per table, per chain, the handle of each rule (planner indices → handles). */
  handles?: Map<string, Float64Array[]>;
  /** nft: built-in chains shown (as iptables-nft-save does) but not in the kernel. */
  absentChains?: Map<string, Set<string>>;
}

export interface Backend {
  readonly kind: BackendKind;
  readonly family: Family;
  /** Names of the tables that exist in the kernel now. */
  tableNames(): Promise<string[]>;
  /** An unguarded read (iptables-save does not lock either). */
  read(tables: readonly string[]): Promise<Snapshot>;
  /**
   * Runs `fn` with the guard held (legacy: the lock); `fn` reads and commits through the
   * given functions. Retrying is the caller's (transaction.ts).
   */
  guarded<T>(fn: (g: GuardedOps) => Promise<T>): Promise<T>;
}

export interface GuardedOps {
  read(tables: readonly string[]): Promise<Snapshot>;
  commit(snapshot: Snapshot, plans: readonly TablePlan[]): Promise<void>;
}
