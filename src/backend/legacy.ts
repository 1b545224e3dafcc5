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
import { covers, restrict, snapshotAfter } from './kept.js';

const LOCK_POLL_MS = 10;

export class LegacyBackend implements Backend {
  readonly kind = 'legacy' as const;
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
    return native.legacyTableNames(this.family, this.netns);
  }

  async read(tables: readonly string[], hold?: Hold): Promise<Snapshot> {
    if (hold) {
      // Tables whose module is not available are left out, as below.
      const r = await native.readHolding('legacy', this.family, this.netns, [...tables], holdLists(tables, hold));
      return { tables: r.tables.map((t) => decodeTable(t).table), held: heldOf(r) };
    }
    return this.readTables(tables, false);
  }

  /** `digest`: with the fingerprint (legacyFingerprint's form) of the very copies read. */
  private async readTables(tables: readonly string[], digest: boolean): Promise<Snapshot> {
    const out: Table[] = [];
    const digests = new Map<string, string>();
    for (const name of tables) {
      try {
        const r = await native.legacyRead(this.family, this.netns, name, digest);
        out.push(decodeTable(r).table);
        if (r.digest !== undefined) digests.set(name, r.digest);
      } catch (e) {
        // A table whose module is not available reads as absent, as in iptables-save.
        if (e instanceof NetfilterError && e.code === 'ENOENT' && e.op === 'read') continue;
        throw e;
      }
    }
    return { tables: out, names: [...tables], ...(digest ? { fingerprint: fingerprintOf(tables, (t) => digests.get(t)) } : {}) };
  }

  /**
   * Under the lock: the kept tables, or a read kept in their place (with the digest of what
   * was read). `check`: only when a digest of the kernel's entries (one copy of each table,
   * nothing decoded) is the one they were kept with. Otherwise the commit checks that, in its
   * own copy of the tables (legacyCommit's `expect`), or, committing nothing, before it says so.
   */
  private async reuse(tables: readonly string[], check: boolean): Promise<Snapshot> {
    const kept = this.kept;
    if (covers(kept, tables) && kept.names.length === tables.length && kept.fingerprint !== undefined && !kept.fingerprint.includes('absent')) {
      if (!check) return { ...restrict(kept, tables), unchecked: true };
      if ((await this.fingerprint(tables)) === kept.fingerprint) return restrict(kept, tables);
    }
    // The digests are of the very copies read: a writer that ignores the lock cannot slip a
    // change in between.
    return (this.kept = await this.readTables(tables, true));
  }

  readReusing(tables: readonly string[]): Promise<Snapshot> {
    return this.guarded((g) => g.read(tables, undefined, true, true));
  }

  /** Under the lock: ESTALE (retryable) when an unchecked snapshot's tables changed since. */
  private async check(snapshot: Snapshot): Promise<void> {
    if (!snapshot.unchecked || (await this.fingerprint(snapshot.names!)) === snapshot.fingerprint) return;
    this.kept = undefined;
    throw new NetfilterError('the tables changed since they were kept (a writer that does not take the xtables lock)', {
      code: 'ESTALE',
      errno: 116,
      op: 'commit',
      backend: 'legacy',
    });
  }

  async guarded<T>(fn: (g: GuardedOps) => Promise<T>): Promise<T> {
    const fd = await native.lockAcquire(this.opts.lockPath, this.opts.lockTimeoutMs, LOCK_POLL_MS);
    let kept: Snapshot | undefined;
    // The digests of the tables this hold's commit wrote, as it wrote them (when asked for).
    let written: CommitOutcomes | undefined;
    try {
      return await fn({
        read: (tables, hold, reuse, check = false) => (reuse && !hold ? this.reuse(tables, check) : this.read(tables, hold)),
        check: (snapshot) => this.check(snapshot),
        commit: async (snapshot, plans, keep, fingerprint) => {
          const changed = plans.some((p) => !p.unchanged);
          if (!changed) {
            // Nothing to commit, decided on kept tables: say so only if they still hold.
            await this.check(snapshot);
            return new Map();
          }
          this.kept = undefined;
          // An expectation of no table still has the commit digest what it writes.
          const outcomes = await this.commit(snapshot, plans, snapshot.fingerprint ?? (fingerprint ? '' : undefined));
          written = outcomes;
          if (keep && snapshot.names && snapshot.fingerprint !== undefined) {
            const after = snapshotAfter(this.family, snapshot, plans, outcomes);
            const fingerprint = after && fingerprintAfter(snapshot.fingerprint, plans, outcomes);
            if (after && fingerprint) kept = this.kept = { ...after, fingerprint };
          }
          return outcomes;
        },
        kept: () => kept?.tables,
        // Under the lock still held: nobody who takes it can have changed them since. A table
        // the commit wrote has the digest of what it wrote (a 30,000-rule table is not read
        // back for it); the others are digested as the kernel holds them.
        fingerprint: async (tables) => {
          const rest = tables.filter((t) => written?.get(t)?.digest === undefined);
          const read = fingerprintParts(rest.length > 0 ? await this.fingerprint(rest) : '');
          return fingerprintOf(tables, (t) => written?.get(t)?.digest ?? read.get(t));
        },
      });
    } finally {
      native.lockRelease(fd);
    }
  }

  fingerprint(tables: readonly string[]): Promise<string> {
    return native.legacyFingerprint(this.family, this.netns, [...tables]);
  }

  /** `expect`: the fingerprint the tables must still have (legacyCommit's). */
  private async commit(snapshot: Snapshot, plans: readonly TablePlan[], expect?: string): Promise<CommitOutcomes> {
    const changed = plans.filter((p) => !p.unchanged);
    if (changed.length === 0) return new Map();
    const wires: string[][] = [];
    for (const p of changed) wires.push(await runStepsYielding(encodeCommitSteps(p.table, this.family, p.chains)));
    const r = await native.legacyCommit(this.family, this.netns, wires, snapshot.held?.ref ?? null, expect ?? null);
    return new Map(changed.map((p, i) => [p.table, r[i]!]));
  }
}

/**
 * The fingerprint (legacyFingerprint's form, `name=digest;` per table) after a commit: the
 * committed tables' digests as the addon computed them from what it wrote, the others' as
 * they were checked to be. Undefined when a committed table has no digest.
 */
function fingerprintAfter(before: string, plans: readonly TablePlan[], outcomes: CommitOutcomes): string | undefined {
  const parts = fingerprintParts(before);
  for (const p of plans) {
    if (p.unchanged) continue;
    const digest = outcomes.get(p.table)?.digest;
    if (!parts.has(p.table) || digest === undefined) return undefined;
    parts.set(p.table, digest);
  }
  return fingerprintOf(parts.keys(), (t) => parts.get(t));
}

/** A fingerprint (legacyFingerprint's form) taken apart: per table, in its order, its digest or "absent". */
function fingerprintParts(fingerprint: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of fingerprint.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

/** legacyFingerprint's form, `name=digest;` per table of `tables` in order ("absent" where `digestOf` has none). */
function fingerprintOf(tables: Iterable<string>, digestOf: (table: string) => string | undefined): string {
  let out = '';
  for (const t of tables) out += `${t}=${digestOf(t) ?? 'absent'};`;
  return out;
}
