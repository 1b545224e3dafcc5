// The legacy (x_tables) back end: the kernel's IPT_SO_* socket options in the addon, guarded by the xtables lock so that
// iptkit and `iptables -w` never replace a table under each other. The kernel replaces a
// whole table per commit and checks nothing, so the lock is held from read to commit.

import { native } from '../binding.js';
import { NetfilterError } from '../errors.js';
import type { TablePlan } from '../plan/plan.js';
import type { Table } from '../rules/model.js';
import { decodeTable, encodeCommitSteps } from '../rules/wire.js';
import { runStepsYielding } from '../turn.js';
import { heldOf, holdLists, type Backend, type BackendOptions, type CommitOutcomes, type GuardedOps, type Hold, type Snapshot } from './backend.js';

const LOCK_POLL_MS = 10;

export class LegacyBackend implements Backend {
  readonly kind = 'legacy' as const;
  readonly family;

  constructor(private readonly opts: BackendOptions) {
    this.family = opts.family;
  }

  private get netns(): string | null {
    return this.opts.netns ?? null;
  }

  tableNames(): Promise<string[]> {
    return native.legacyTableNames(this.family, this.netns);
  }

  async read(tables: readonly string[], hold?: Hold): Promise<Snapshot> {
    if (hold) {
      // Tables whose module is not available are left out, as below.
      const r = await native.readHolding('legacy', this.family, this.netns, [...tables], holdLists(tables, hold));
      return { tables: r.tables.map((t) => decodeTable(t).table), held: heldOf(r) };
    }
    const out: Table[] = [];
    for (const name of tables) {
      try {
        out.push(decodeTable(await native.legacyRead(this.family, this.netns, name)).table);
      } catch (e) {
        // A table whose module is not available reads as absent, as in iptables-save.
        if (e instanceof NetfilterError && e.code === 'ENOENT' && e.op === 'read') continue;
        throw e;
      }
    }
    return { tables: out };
  }

  async guarded<T>(fn: (g: GuardedOps) => Promise<T>): Promise<T> {
    const fd = await native.lockAcquire(this.opts.lockPath, this.opts.lockTimeoutMs, LOCK_POLL_MS);
    try {
      return await fn({
        read: (tables, hold) => this.read(tables, hold),
        commit: (snapshot, plans) => this.commit(snapshot, plans),
        // Under the lock still held: nobody who takes it can have changed them since.
        fingerprint: (tables) => this.fingerprint(tables),
      });
    } finally {
      native.lockRelease(fd);
    }
  }

  fingerprint(tables: readonly string[]): Promise<string> {
    return native.legacyFingerprint(this.family, this.netns, [...tables]);
  }

  private async commit(snapshot: Snapshot, plans: readonly TablePlan[]): Promise<CommitOutcomes> {
    const changed = plans.filter((p) => !p.unchanged);
    if (changed.length === 0) return new Map();
    const wires: string[][] = [];
    for (const p of changed) wires.push(await runStepsYielding(encodeCommitSteps(p.table, this.family, p.chains)));
    const r = await native.legacyCommit(this.family, this.netns, wires, snapshot.held?.ref ?? null);
    return new Map(changed.map((p, i) => [p.table, r[i]!]));
  }
}
