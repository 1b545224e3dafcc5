// Desired vs. current → the smallest commit that gets there. A caller states what it owns
// (whole tables, whole chains, or just its rules inside a shared chain); everything else in
// the table is kept exactly as it is, counters included. The result is the commit form of
// docs/wire.md: every chain of the table, each as kept current rules and new rules.

import type { Chain, Counters, Rule, Table } from '../rules/model.js';
import { BUILTIN_CHAINS, isForeignRule, ruleCounters, type TableName } from '../rules/model.js';
import { pausesAt, runSteps, type Steps } from '../turn.js';
import { keepPlanSteps } from './diff.js';

// A plan is made of the commit records the wire carries (one definition, in wire.ts).
import type { CommitChain, CommitEntry } from '../rules/wire.js';
export type { CommitChain, CommitEntry } from '../rules/wire.js';

export interface TablePlan {
  table: string;
  chains: CommitChain[];
  /** Nothing differs from the current table: the commit can be skipped. */
  unchanged: boolean;
}

/** A block of rules a caller owns inside a chain it shares with others (a built-in chain). */
export interface OwnedBlock {
  position: 'top' | 'bottom';
  rules: Rule[];
}

/**
 * The rules an 'owned' intent's caller owns: those a test accepts, or exactly the rules with
 * these texts. A few texts are found in a chain of thousands by the engine's own search, with
 * no call per rule: DockerHost's port operations plan each of Docker's big chains this way.
 */
export type Owns = ((rule: Rule) => boolean) | ReadonlySet<Rule>;

/** Whether `owns` names `rule`. */
export function isOwned(owns: Owns, rule: Rule): boolean {
  return typeof owns === 'function' ? owns(rule) : owns.has(rule);
}

export type ChainIntent =
  /** The chain holds exactly these rules (created if missing); ruleCounters as on Chain. */
  | { chain: string; mode: 'exact'; rules: Rule[]; ruleCounters?: BigUint64Array; policy?: 'ACCEPT' | 'DROP'; policyCounters?: Counters }
  /**
   * The same for a big chain (DockerHost's DOCKER chains): its rules as canonical texts, one
   * per line (`text` holds no other line break). A chain the read held natively (`hold`) is
   * planned by the addon against the kernel's lines, under the commit's guard.
   */
  | { chain: string; mode: 'exact'; text: string }
  /**
   * Only the rules `owns` names are the caller's; the blocks are the ones it wants. A
   * built-in chain's policy, if given, is set when it differs (its counters kept).
   */
  | { chain: string; mode: 'owned'; owns: Owns; blocks: OwnedBlock[]; policy?: 'ACCEPT' | 'DROP' }
  /** Created with these rules if missing; never touched when present (DOCKER-USER). */
  | { chain: string; mode: 'ensure'; rules: Rule[] }
  /** Deleted if present (its references must be gone in the same commit). */
  | { chain: string; mode: 'delete' };

export interface TableIntent {
  table: string;
  chains: ChainIntent[];
  /** Whole-table ownership (restore without --noflush): user chains not named are deleted. */
  exclusive?: boolean;
  /** Explicit counters on new rules (restore -c); otherwise new rules start at zero. */
  counters?: boolean;
  /**
   * Set every built-in chain's policy counters from the intent (zero when it gives none), as
   * iptables-legacy-restore does for each table it commits; otherwise they keep counting.
   */
  setPolicyCounters?: boolean;
}

/** A chain a read held natively (Netfilter.update's `hold`): its rules are not in the table as read. */
export interface HeldChain {
  /** Its rule count when read. */
  rules: number;
  /** The interfaces (`-i`, `-o`) its rules name. */
  interfaces: readonly string[];
}

/** Held chains per table, per chain. */
export type HeldChains = ReadonlyMap<string, ReadonlyMap<string, HeldChain>>;

/**
 * `{ keep: i }`, one frozen object per index shared by every plan: a chain of thousands that
 * changes by one rule is planned without thousands of new objects (and their collection) at
 * every commit. Grows to the longest chain planned.
 */
const KEEPS: CommitEntry[] = [];
function keepEntry(i: number): CommitEntry {
  for (let k = KEEPS.length; k <= i; k++) KEEPS.push(Object.freeze({ keep: k }));
  return KEEPS[i]!;
}

/** Appends keepEntry(from) … keepEntry(to - 1) to `out`: a copy of a slice for a long run. */
function pushKeeps(out: CommitEntry[], from: number, to: number): void {
  if (to - from < 64) {
    for (let i = from; i < to; i++) out.push(keepEntry(i));
    return;
  }
  keepEntry(to - 1);
  // In slices: push takes them as arguments, and the stack has room for only so many.
  for (let i = from; i < to; i += 8192) Array.prototype.push.apply(out, KEEPS.slice(i, Math.min(to, i + 8192)));
}

/**
 * How many texts of an owned set are looked for one by one (Array.prototype.indexOf, half the
 * time of a hash lookup per rule on a chain of 10,000, measured) rather than by a pass with the set.
 */
const SEARCHED_TEXTS = 16;

/** The positions in `current` of the rules `owns` names, in order. */
export function* ownedPositions(current: readonly Rule[], owns: Owns): Steps<number[]> {
  const at: number[] = [];
  if (typeof owns !== 'function' && owns.size <= SEARCHED_TEXTS) {
    for (const t of owns) {
      for (let i = current.indexOf(t); i >= 0; i = current.indexOf(t, i + 1)) at.push(i);
      yield;
    }
    return at.sort((a, b) => a - b);
  }
  // A test is asked once per rule (it may be a regular expression over the text).
  const has = typeof owns === 'function' ? owns : (r: Rule): boolean => owns.has(r);
  for (let i = 0; i < current.length; i++) {
    if (has(current[i]!)) at.push(i);
    if (pausesAt(i)) yield;
  }
  return at;
}

/** The rules of a text intent (one per line). */
function rulesOf(text: string): Rule[] {
  return text === '' ? [] : text.split('\n');
}

/**
 * keepPlan over rule texts, with the two cheap cases first: nothing to keep when current is
 * empty, and every rule kept when both are the same sequence.
 */
function* keepRules(current: readonly Rule[], desired: readonly Rule[]): Steps<number[]> {
  const n = desired.length;
  if (current.length === 0) return new Array<number>(n).fill(-1);
  if (current.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (current[i] !== desired[i]) {
        same = false;
        break;
      }
    }
    if (same) {
      const all = new Array<number>(n);
      for (let i = 0; i < n; i++) all[i] = i;
      return all;
    }
  }
  return yield* keepPlanSteps(current, desired);
}

/**
 * Entries for a chain that must hold exactly `desired`, reusing what `current` has. With
 * `counters` (restore -c), every desired rule gets the counters its chain gives it, so none
 * is kept: a kept rule keeps the kernel's counters.
 */
function* exactEntries(current: readonly Rule[], desired: Chain, counters: boolean): Steps<CommitEntry[]> {
  const rules = desired.rules;
  if (counters && desired.ruleCounters) return rules.map((rule, j) => ({ rule, counters: ruleCounters(desired, j) }));
  // Rules written by `nft` directly are nobody's to remove: plan around them.
  if (current.some(isForeignRule)) {
    return yield* ownedEntries(current, (r) => !isForeignRule(r), [{ position: 'top', rules: [...rules] }]);
  }
  const plan = yield* keepRules(current, rules);
  return rules.map((rule, j) => {
    const keep = plan[j]!;
    return keep >= 0 ? keepEntry(keep) : { rule };
  });
}

/** Entries for a shared chain: foreign rules stay where they are; owned blocks are placed. */
function* ownedEntries(current: readonly Rule[], owns: Owns, blocks: readonly OwnedBlock[]): Steps<CommitEntry[]> {
  const ownedIdx = yield* ownedPositions(current, owns);
  const desiredAll = blocks.flatMap((b) => b.rules);
  const plan = yield* keepRules(
    ownedIdx.map((i) => current[i]!),
    desiredAll,
  );
  // The owned rules the plan does not keep go.
  const keptOwned = new Uint8Array(ownedIdx.length);
  for (const k of plan) if (k >= 0) keptOwned[k] = 1;
  const gone: number[] = [];
  ownedIdx.forEach((i, k) => {
    if (keptOwned[k] === 0) gone.push(i);
  });

  // New rules hang off an anchor: after the block's last kept rule so far, else before its
  // first kept rule, else the chain's end the block belongs at. Lists are made only for
  // anchors that get a new rule; building the result once from them keeps this linear.
  const before = new Map<number, Rule[]>();
  const after = new Map<number, Rule[]>();
  const start: Rule[] = [];
  const end: Rule[] = [];
  const listAt = (map: Map<number, Rule[]>, i: number): Rule[] => {
    let l = map.get(i);
    if (!l) map.set(i, (l = []));
    return l;
  };
  let offset = 0;
  for (const block of blocks) {
    const from = offset;
    offset += block.rules.length;
    let firstKept = -1;
    for (let j = from; j < offset; j++) {
      if (plan[j]! >= 0) {
        firstKept = ownedIdx[plan[j]!]!;
        break;
      }
    }
    let lastKept = -1;
    for (let j = from; j < offset; j++) {
      const k = plan[j]!;
      if (k >= 0) lastKept = ownedIdx[k]!;
      else if (lastKept >= 0) listAt(after, lastKept).push(desiredAll[j]!);
      else if (firstKept >= 0) listAt(before, firstKept).push(desiredAll[j]!);
      else (block.position === 'top' ? start : end).push(desiredAll[j]!);
    }
  }
  // Every rule not gone is kept in place; new rules go in at their anchors (kept rules). Between
  // two such places the entries are a run of keeps, copied at once.
  const places = [...new Set([...gone, ...before.keys(), ...after.keys()])].sort((x, y) => x - y);
  const result: CommitEntry[] = start.map((rule) => ({ rule }));
  const goneAt = new Set(gone);
  let i = 0;
  for (let k = 0; k < places.length; k++) {
    const at = places[k]!;
    pushKeeps(result, i, at);
    for (const rule of before.get(at) ?? []) result.push({ rule });
    if (!goneAt.has(at)) result.push(keepEntry(at));
    for (const rule of after.get(at) ?? []) result.push({ rule });
    i = at + 1;
    if (pausesAt(k)) yield;
  }
  pushKeeps(result, i, current.length);
  for (const rule of end) result.push({ rule });
  return result;
}

const ZERO: Counters = { packets: 0n, bytes: 0n };

function sameCounters(a?: Counters, b?: Counters): boolean {
  return a === b || (a !== undefined && b !== undefined && a.packets === b.packets && a.bytes === b.bytes);
}

/**
 * Plans one table. `current` is undefined when the table does not exist yet. `held`: the
 * table's chains the read held natively, which only a text intent can plan (the addon does).
 */
export function planTable(current: Table | undefined, intent: TableIntent, held?: ReadonlyMap<string, HeldChain>): TablePlan {
  return runSteps(planTableSteps(current, intent, held));
}

/** planTable as steps (src/turn.ts): a 10,000-rule chain's plan is milliseconds of work. */
export function* planTableSteps(current: Table | undefined, intent: TableIntent, held?: ReadonlyMap<string, HeldChain>): Steps<TablePlan> {
  const counters = intent.counters ?? false;
  const currentChains = new Map<string, Chain>((current?.chains ?? []).map((c) => [c.name, c]));
  const intents = new Map<string, ChainIntent>(intent.chains.map((c) => [c.chain, c]));
  const builtins = BUILTIN_CHAINS[intent.table as TableName] ?? [];
  const out: CommitChain[] = [];
  let unchanged = true;

  const order: string[] = [];
  for (const b of builtins) order.push(b);
  for (const c of current?.chains ?? []) if (!order.includes(c.name)) order.push(c.name);
  for (const c of intent.chains) if (!order.includes(c.chain)) order.push(c.chain);

  for (const name of order) {
    const cur = currentChains.get(name);
    const want = intents.get(name);
    const isBuiltin = builtins.includes(name);
    const curRules = cur?.rules ?? [];
    const keepAll = (): CommitEntry[] => curRules.map((_, i) => keepEntry(i));
    let chain: CommitChain | undefined;

    if (held?.has(name)) {
      if (!want || want.mode !== 'exact' || !('text' in want)) {
        throw new Error(`internal: table ${intent.table}, chain ${name}: held by the read, only an exact text intent can plan it`);
      }
      // Its keeps, `was` and whether it changes are the addon's (NativeCommitOutcome).
      out.push({ name, entries: [], lines: want.text });
      unchanged = false;
      continue;
    }
    if (!want) {
      if (!cur && !isBuiltin) continue;
      if (intent.exclusive && !isBuiltin) {
        unchanged = false;
        continue; // deleted
      }
      chain = { name, entries: intent.exclusive ? [] : keepAll() };
      if (intent.exclusive && curRules.length > 0) unchanged = false;
    } else if (want.mode === 'delete') {
      if (isBuiltin) throw new RangeError(`chain ${name}: a built-in chain cannot be deleted`);
      if (cur) unchanged = false;
      continue;
    } else if (want.mode === 'ensure') {
      chain = { name, entries: cur ? keepAll() : want.rules.map((rule) => ({ rule })) };
      if (!cur) unchanged = false;
    } else if (want.mode === 'exact' && 'text' in want) {
      chain = { name, entries: yield* exactEntries(curRules, { name, rules: rulesOf(want.text) }, counters) };
    } else if (want.mode === 'exact') {
      chain = { name, entries: yield* exactEntries(curRules, { name, rules: want.rules, ...(want.ruleCounters ? { ruleCounters: want.ruleCounters } : {}) }, counters) };
      if (isBuiltin && want.policy) {
        const wanted = intent.setPolicyCounters ? (want.policyCounters ?? ZERO) : counters ? want.policyCounters : undefined;
        const policyChanged = want.policy !== cur?.policy;
        const countersChanged = wanted !== undefined && !sameCounters(wanted, cur?.counters);
        if (policyChanged || countersChanged || !cur) {
          chain.policy = want.policy;
          if (wanted) chain.policyCounters = wanted;
          unchanged = false;
        }
      }
    } else {
      chain = { name, entries: yield* ownedEntries(curRules, want.owns, want.blocks) };
      if (isBuiltin && want.policy && want.policy !== cur?.policy) {
        chain.policy = want.policy;
        unchanged = false;
      }
    }
    if (cur) chain.was = curRules.length;
    if (!cur) unchanged = false;
    if (unchanged) {
      const e = chain.entries;
      if (e.length !== curRules.length || e.some((x, i) => !('keep' in x) || x.keep !== i)) unchanged = false;
    }
    out.push(chain);
  }
  return { table: intent.table, chains: out, unchanged };
}

/** A whole desired table as an exclusive intent (restore without --noflush, commit()). */
export function exactIntent(desired: Table, counters = false, setPolicyCounters = false): TableIntent {
  return {
    table: desired.name,
    exclusive: true,
    counters,
    setPolicyCounters,
    chains: desired.chains.map((c) => ({
      chain: c.name,
      mode: 'exact' as const,
      rules: c.rules,
      ...(c.ruleCounters ? { ruleCounters: c.ruleCounters } : {}),
      ...(c.policy ? { policy: c.policy } : {}),
      ...(c.counters ? { policyCounters: c.counters } : {}),
    })),
  };
}
