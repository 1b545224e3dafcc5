// The library's entry point: open a back end in a network namespace, read tables, commit
// desired tables or ownership-scoped intents in one atomic step, or run a read-modify-commit
// transaction. Every commit keeps what the caller does not own, and the counters of rules
// that did not change.

import type { Backend, BackendKind, Hold } from './backend/backend.js';
import { createBackend, detectBackend } from './backend/detect.js';
import { onlyOwnCommitsSince } from './backend/nft.js';
import { lockPath as defaultLockPath, netnsPath } from './backend/env.js';
import { committedTable, DEFAULT_MAX_RETRIES, runTransaction, type TransactionResult } from './backend/transaction.js';
import { exactIntent, planTable, type HeldChains, type TableIntent, type TablePlan } from './plan/plan.js';
import { BUILTIN_CHAINS, type Family, type Table, type TableName } from './rules/model.js';
import { ConflictError, NetfilterError, ParseError } from './errors.js';
import { loadNative, native, nativeDialect } from './binding.js';
import type { RecoverResult } from './native-binding.js';
import { checkRuleText } from './rules/wire.js';

/** How Netfilter.open() finds the tables: back end, family, namespace, lock and retries. */
export interface OpenOptions {
  /** 'auto' (default): the back end that holds rules, else nf_tables. */
  backend?: 'auto' | BackendKind;
  /** 'ipv4' (default: the iptables tables) or 'ipv6' (the ip6tables tables). */
  family?: Family;
  /** A name under /var/run/netns, or a path to a namespace file; default: this process's. */
  netns?: string;
  /** Legacy: how long to wait for the xtables lock. Default 10 s. */
  lockTimeoutMs?: number;
  /** Re-plans after a concurrent change before giving up with ConflictError. */
  maxRetries?: number;
}

/** Options of commit() and transaction(). */
export interface CommitOptions {
  /** Set the counters given on rules and policies (restore -c). Default: new rules start at 0. */
  counters?: boolean;
  /** Set built-in chains' policy counters from the tables (zero when absent) even without -c. */
  setPolicyCounters?: boolean;
}

/** @internal An nf_tables ruleset generation in a namespace (its SO_NETNS_COOKIE). */
export interface RulesetMark {
  generation: number;
  netns: string;
}

/** Options of save() and saveBytes(). */
export interface SaveOptions {
  /** The tables to print, in this order (default: every table there is). */
  tables?: readonly string[];
  /** As iptables-save -c: `[packets:bytes]` before each rule. */
  counters?: boolean;
}

/** Options of restore(), as iptables-restore's flags. */
export interface RestoreOptions {
  /** `-n`: keep what the input does not mention. */
  noflush?: boolean;
  /** `-c`: take counters from the input. */
  counters?: boolean;
  /** `-T`: restore only this table. */
  table?: string;
  /** `--test`: parse and plan against the current tables, commit nothing. */
  test?: boolean;
}

/** What a commit did. */
export interface CommitResult {
  /** The back end it was made on. */
  backend: BackendKind;
  /** How many times it was planned: more than 1 when another writer got in between. */
  attempts: number;
  /** Tables that changed. */
  changed: string[];
  /** Rules written. */
  added: number;
  /** Rules removed. */
  deleted: number;
  /** Rules that stayed as they were (not counted for an append-only restore). */
  kept: number;
  /** An append-only restore: rules were added at chains' ends without reading the tables. */
  appendOnly?: true;
  /**
   * With update's `fingerprint` option (a list of tables): what they held right after this
   * commit (see Netfilter.fingerprint), equal to a later fingerprint of the same tables exactly
   * when nothing but counters changed in them since.
   */
  fingerprint?: string;
}

function summarise(backend: BackendKind, r: TransactionResult): CommitResult {
  let added = 0;
  let kept = 0;
  let before = 0;
  const changed: string[] = [];
  for (const p of r.plans) {
    if (committedTable(p, r.outcomes)) changed.push(p.table);
    const native = r.outcomes.get(p.table);
    for (const c of p.chains) for (const e of c.entries) ('keep' in e ? kept++ : added++);
    if (native) {
      added += native.added;
      kept += native.kept;
    }
    const cur = r.snapshot.tables.find((t) => t.name === p.table);
    for (const c of cur?.chains ?? []) before += c.rules.length;
    for (const h of r.snapshot.held?.chains.get(p.table)?.values() ?? []) before += h.rules;
  }
  return { backend, attempts: r.attempts, changed, added, deleted: before - kept, kept };
}

const TABLE_NAME = /^[a-z_]{1,31}$/;

function checkTables(tables: readonly string[]): void {
  for (const t of tables) {
    if (!TABLE_NAME.test(t)) throw new RangeError(`table: '${t}' is not a table name`);
  }
}

/**
 * One family's netfilter tables on one back end, in one network namespace: read them, print
 * them as iptables-save, and commit changes atomically. Made by {@link Netfilter.open}.
 */
export class Netfilter {
  /** The back end in use ('legacy' or 'nft'; 'auto' resolved at open). */
  readonly backend: BackendKind;
  /** 'ipv4' or 'ipv6'. */
  readonly family: Family;
  /** The namespace file worked in, or undefined for this process's own namespace. */
  readonly netns: string | undefined;
  private readonly impl: Backend;
  private readonly maxRetries: number;
  private readonly lockPath: string;
  private readonly lockTimeoutMs: number;

  private constructor(impl: Backend, netns: string | undefined, maxRetries: number, lockPath: string, lockTimeoutMs: number) {
    this.impl = impl;
    this.backend = impl.kind;
    this.family = impl.family;
    this.netns = netns;
    this.maxRetries = maxRetries;
    this.lockPath = lockPath;
    this.lockTimeoutMs = lockTimeoutMs;
  }

  /**
   * Opens the tables: checks the options, resolves `netns` to its file and, for
   * `backend: 'auto'`, picks the back end that holds rules (nf_tables when neither does).
   */
  static async open(options: OpenOptions = {}): Promise<Netfilter> {
    const family = options.family ?? 'ipv4';
    if (family !== 'ipv4' && family !== 'ipv6') throw new RangeError(`family: '${String(family)}' is not 'ipv4' or 'ipv6'`);
    const choice = options.backend ?? 'auto';
    if (!['auto', 'legacy', 'nft'].includes(choice)) throw new RangeError(`backend: '${String(choice)}' is not auto, legacy or nft`);
    const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    if (!Number.isFinite(lockTimeoutMs) || lockTimeoutMs < 0) throw new RangeError(`lockTimeoutMs: ${lockTimeoutMs} is not a duration`);
    const netns = netnsPath(options.netns);
    const opts = { family, lockTimeoutMs, lockPath: defaultLockPath(), ...(netns ? { netns } : {}) };
    loadNative();
    const kind = choice === 'auto' ? await detectBackend(opts) : choice;
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    return new Netfilter(createBackend(kind, opts), netns, maxRetries, opts.lockPath, lockTimeoutMs);
  }

  /**
   * @internal nf_tables in a namespace (a name or path; default this process's): its ruleset
   * generation now and the namespace's cookie, or undefined where that cannot be asked.
   */
  static async rulesetMark(netns?: string): Promise<RulesetMark | undefined> {
    const now = await native.nftGeneration(netnsPath(netns) ?? null).catch(() => undefined);
    return now && now.netns !== '0' ? now : undefined;
  }

  /**
   * @internal Whether the ruleset went from mark `then` to mark `now` only by this process's own
   * commits of iptables tables (made with `reuse`), which touch no other nf_tables table.
   */
  static onlyIptablesCommitsSince(then: RulesetMark, now: RulesetMark): boolean {
    return then.netns === now.netns && onlyOwnCommitsSince(now.netns, then.generation, now.generation);
  }

  /** Names of the tables the kernel has now. */
  tableNames(): Promise<string[]> {
    return this.impl.tableNames();
  }

  /** Reads tables with their counters (all existing tables when none are named). */
  async read(tables?: readonly string[]): Promise<Table[]> {
    if (tables) checkTables(tables);
    const names = tables ?? (await this.impl.tableNames());
    return (await this.impl.read(names)).tables;
  }

  /**
   * @internal For a caller that plans by rule text (DockerHost's port operations): read(), but
   * the tables may be those the back end kept (see update's `reuse`) while they still hold,
   * counters as of then; a fresh read is kept in their place.
   */
  async readReusing(tables: readonly string[]): Promise<readonly Table[]> {
    checkTables(tables);
    return (await this.impl.readReusing(tables)).tables;
  }

  /**
   * Tables as iptables-save prints them (`counters`: as with -c), every table there is when
   * none are named; a table that does not exist prints nothing. Read and printed natively in
   * one call, so a big table is one string and no rule objects.
   */
  async save(options: SaveOptions = {}): Promise<string> {
    return (await this.saveBytes(options)).toString('utf8');
  }

  /** save() as UTF-8 bytes, for writing to a stream without a copy (what `iptkit save` does). */
  async saveBytes(options: SaveOptions = {}): Promise<Buffer> {
    if (options.tables) checkTables(options.tables);
    return native.save(this.backend, this.family, this.netns ?? null, options.tables ?? null, {
      counters: options.counters ?? false,
      generator: `iptkit (${this.backend})`,
    });
  }

  /**
   * Makes each given table exactly as described, in one atomic commit across all of them.
   * Rules that are already there stay (with their counters); the rest is added or removed.
   */
  async commit(tables: readonly Table[], options: CommitOptions = {}): Promise<CommitResult> {
    for (const t of tables) {
      if (t.family !== this.family) throw new RangeError(`table ${t.name}: family ${t.family} does not match ${this.family}`);
    }
    const names = tables.map((t) => t.name);
    checkTables(names);
    return this.update(names, (current) => tables.map((t) => exactIntent(this.canonical(t, current), options.counters ?? false)));
  }

  /**
   * `desired` with every rule in canonical text: a rule the kernel already holds (its text is
   * one the read gave) stays as it is; any other is parsed by the native dialect, so that the
   * planner keeps a rule written differently (`--dport 80 -p tcp`) instead of replacing it,
   * and a bad rule is a ParseError naming it before anything is committed.
   */
  private canonical(desired: Table, current: readonly Table[]): Table {
    const known = new Set<string>();
    for (const c of current.find((t) => t.name === desired.name)?.chains ?? []) for (const r of c.rules) known.add(r);
    const unknown: string[] = [];
    for (const c of desired.chains) {
      if (!Array.isArray(c.rules)) throw new TypeError(`table ${desired.name}, chain ${c.name}: rules must be an array of rule texts`);
      for (const r of c.rules) {
        if (typeof r !== 'string') throw new TypeError(`table ${desired.name}, chain ${c.name}: a rule must be its text, got ${typeof r}`);
        if (known.has(r)) continue;
        // Before the native parse, so that a NUL in a comment is the same TypeError as a line break.
        checkRuleText(r);
        unknown.push(r);
      }
    }
    if (unknown.length === 0) return desired;
    const texts = nativeDialect.canonical(this.family, unknown);
    const canon = new Map<string, string>();
    unknown.forEach((r, i) => canon.set(r, texts[i]!));
    return { ...desired, chains: desired.chains.map((c) => ({ ...c, rules: c.rules.map((r) => canon.get(r) ?? r) })) };
  }

  /** Commits ownership-scoped intents (see plan.ts): what the caller does not own stays. */
  async apply(intents: readonly TableIntent[]): Promise<CommitResult> {
    checkTables(intents.map((i) => i.table));
    return this.update(
      intents.map((i) => i.table),
      () => [...intents],
    );
  }

  /**
   * Like apply(), but the intents are computed from the tables as read under the back end's
   * guard (and computed again if a concurrent change forces a re-read): one read serves both
   * deciding what to change and planning it. `hold`: per table, chains the caller states with
   * an exact text intent, kept natively from read to commit: they read as empty in `current`
   * (`held` gives their rule counts and interfaces), and the addon plans them against the
   * kernel's lines, so that none of their rules becomes a JavaScript string.
   *
   * `reuse`, for a caller that plans by rule text only: `current` may be the tables as this
   * Netfilter's last `reuse` update left them, given again without a read when the back end
   * proves that nothing but counters changed in them since (nf_tables: the ruleset is at the
   * generation that commit made; legacy: a digest of each table's entries is the one taken
   * right after it, under the lock). Their counters are then as of that commit. `kept`, with
   * `reuse`, is called with those tables when the back end keeps them: a later update's
   * `current` is that same array exactly while they still hold.
   */
  async update(
    tables: readonly string[],
    intend: (current: readonly Table[], held: HeldChains) => TableIntent[] | Promise<TableIntent[]>,
    options: {
      hold?: Readonly<Record<string, readonly string[]>>;
      fingerprint?: readonly string[];
      reuse?: boolean;
      kept?: (tables: readonly Table[]) => void;
    } = {},
  ): Promise<CommitResult> {
    checkTables(tables);
    if (options.fingerprint) checkTables(options.fingerprint);
    const hold: Hold | undefined = options.hold;
    const r = await runTransaction(this.impl, tables, intend, this.maxRetries, hold, options.fingerprint, options.reuse ?? false);
    if (r.kept && options.kept) options.kept(r.kept);
    const out = summarise(this.backend, r);
    return r.fingerprint === undefined ? out : { ...out, fingerprint: r.fingerprint };
  }

  /**
   * What the tables hold now, as a string equal to an earlier one exactly when nothing but
   * counters changed in them in between (nf_tables: nothing at all was committed in the
   * namespace, which is stricter). Much cheaper than a read: legacy takes each table's entries
   * once and digests them, nf_tables asks for the ruleset generation. For a caller that keeps
   * applying the same thing: compare with the `fingerprint` its last update returned.
   */
  async fingerprint(tables: readonly string[]): Promise<string> {
    checkTables(tables);
    return this.impl.fingerprint(tables);
  }

  /**
   * Read-modify-commit under the back end's guard: `fn` gets the current tables (copies it
   * may change) and returns the tables it wants (or changes them in place and returns
   * nothing). Re-run from a fresh read if another writer got in between.
   */
  async transaction(
    tables: readonly string[],
    fn: (tables: Table[]) => Table[] | void | Promise<Table[] | void>,
    options: CommitOptions = {},
  ): Promise<CommitResult> {
    checkTables(tables);
    const r = await runTransaction(
      this.impl,
      tables,
      async (current) => {
        const copies = structuredClone(current as Table[]);
        for (const name of tables) {
          // A table the kernel does not have yet (nf_tables creates them on demand) starts as
          // its built-in chains, empty, as iptables sees it.
          if (!copies.some((t) => t.name === name)) {
            const chains = (BUILTIN_CHAINS[name as TableName] ?? []).map((c) => ({
              name: c,
              policy: 'ACCEPT' as const,
              counters: { packets: 0n, bytes: 0n },
              rules: [],
            }));
            copies.push({ name, family: this.family, chains });
          }
        }
        const result = (await fn(copies)) ?? copies;
        return result.map((t) => exactIntent(this.canonical(t, current), options.counters ?? false, options.setPolicyCounters ?? false));
      },
      this.maxRetries,
    );
    return summarise(this.backend, r);
  }

  /**
   * Legacy: finishes or rolls back an unfinished multi-table commit of this namespace and
   * family (a process killed between two table replaces left its intent record in
   * /run/iptkit), so that every table is wholly old or wholly new; a table another writer
   * changed since is left and reported. Every legacy read and commit does this first too.
   */
  async recover(): Promise<RecoverResult> {
    if (this.backend !== 'legacy') throw new RangeError('recover: only the legacy back end commits table by table');
    return native.legacyRecover(this.family, this.netns ?? null, this.lockPath, this.lockTimeoutMs);
  }

  /**
   * iptables-restore input, committed as iptables-restore would leave the kernel, all tables
   * in one commit. The whole input is parsed first: a bad line throws ParseError (naming the
   * line and token) and nothing reaches the kernel. Unchanged rules keep their counters.
   * Everything — parse, read, plan, commit, and a fresh read and plan when another writer got
   * in between — runs natively off the event loop; no rule is parsed twice. `text` may be
   * the input's bytes (a Buffer read from a file), which the addon takes as they are.
   */
  async restore(text: string | Uint8Array, options: RestoreOptions = {}): Promise<CommitResult | undefined> {
    if (typeof text !== 'string' && !(text instanceof Uint8Array)) {
      throw new TypeError(`text: expected iptables-restore input as a string or its bytes (a Uint8Array), got ${typeof text}`);
    }
    if (options.table !== undefined) checkTables([options.table]);
    let r;
    try {
      r = await native.restore(this.backend, this.family, this.netns ?? null, text, {
        noflush: options.noflush ?? false,
        counters: options.counters ?? false,
        test: options.test ?? false,
        table: options.table ?? null,
        lockPath: this.lockPath,
        lockTimeoutMs: this.lockTimeoutMs,
        maxRetries: this.maxRetries,
      });
    } catch (e) {
      if (e instanceof NetfilterError && e.op === 'conflict') {
        throw new ConflictError(e.message, { op: 'commit', backend: this.backend, ...(e.table ? { table: e.table } : {}) });
      }
      throw e;
    }
    if ('parseError' in r) {
      const p = r.parseError;
      throw new ParseError(p.message, {
        ...(p.line !== undefined ? { line: p.line } : {}),
        ...(p.token !== undefined ? { token: p.token } : {}),
        ...(p.expected !== undefined ? { expected: p.expected } : {}),
      });
    }
    if ('none' in r || options.test) return undefined;
    return { backend: this.backend, ...r };
  }

  /** Plans without committing (restore --test, docker doctor): what a commit would do. */
  async plan(intents: readonly TableIntent[]): Promise<TablePlan[]> {
    const snap = await this.impl.read(intents.map((i) => i.table));
    return intents.map((i) => planTable(snap.tables.find((t) => t.name === i.table), i));
  }
}
