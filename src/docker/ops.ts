// The Docker operations on a live host (issue 4): apply a whole state, publish and unpublish
// ports incrementally, infer the state from the kernel's rules, doctor, repair. Each commit
// goes through Netfilter.apply with ownership-scoped intents (src/plan/plan.ts), one commit
// per address family (nft: one transaction; legacy: one lock hold, each table replaced once):
//
// - Docker's own chains (nat DOCKER, filter DOCKER, DOCKER-ISOLATION-STAGE-1/2, and v28's
//   DOCKER-FORWARD, DOCKER-BRIDGE, DOCKER-CT) get exactly the desired rules ("exact").
// - In built-in chains, iptkit owns only the rules of Docker's shapes (isDockerRule, with the
//   state's bridges): they are made to be the desired top and bottom blocks ("owned");
//   every other rule stays where it is, counters included.
// - DOCKER-USER is created with Docker's rules when missing and never touched otherwise.
// - A Docker chain the state's layout does not have (a v28 chain on a classic host) is deleted
//   when nothing left references it, else emptied.
// - Docker keeps `-j DOCKER-USER` first in FORWARD (it re-inserts it on every start): when a
//   rule sits above it, the jump moves back to the top and those rules follow right below it.
// Rules that did not change keep their counters; on nft only the changed rules are sent.
//
// How a published port finds its network's bridge: `publish` takes the networks from the
// state given in its options (`state`, the state file of `iptkit docker publish --state`) or,
// without one, from the state inferred from the kernel's rules (inferState: a network is
// named by its bridge there, "bridge" for docker0). A port's `network` may name the network
// or its bridge. The ports already published are always read from the kernel, so the commit
// holds exactly the difference: the rules of the new ports (or, for unpublish, of the removed
// ports that no remaining port shares).

import { Netfilter, type CommitResult, type OpenOptions } from '../netfilter.js';
import type { ChainIntent, OwnedBlock, TableIntent, TablePlan } from '../plan/plan.js';
import { ruleKey } from '../plan/key.js';
import { parseRuleArgs, tokenizeRestoreLine } from '../rules/args.js';
import { printRule, printSave } from '../rules/save.js';
import { BUILTIN_CHAINS, type Family, type Rule, type Table, type TableName } from '../rules/model.js';
import { canonicalAddress, isUnspecified, parseAddress } from './address.js';
import { desiredRules } from './desired.js';
import { doctor as doctorOf, type Finding } from './doctor.js';
import { inferState as inferFromSaves, type InferHints } from './infer.js';
import { bridgeNames } from './links.js';
import { isDockerOwnedChain, isDockerRule } from './recognise.js';
import {
  DOCKER_CHAIN,
  DOCKER_USER_CHAIN,
  acceptPortRule,
  builtinChainRules,
  dnatRule,
  expandPorts,
  hairpinMasqueradeRule,
  type DockerFamilyRuleset,
  type PortBinding,
} from './ruleset.js';
import { FastPathUnavailable, fastBase, otherFamilyQuiet, ownsKeysOf, perPortText, validBindings } from './fast.js';
import type { FamilySaves } from './saves.js';
import { parsePortSpec, portFamily, subnetFor, validateState, type DockerPort, type DockerProto, type DockerState } from './state.js';

/** The tables Docker writes to. */
const DOCKER_TABLES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter'];
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

export type DockerHostOptions = Omit<OpenOptions, 'family'>;

/** What one operation committed, per family (absent: that family was not touched). */
export interface DockerCommitResult {
  ipv4?: CommitResult;
  ipv6?: CommitResult;
}

export interface DockerPublishResult extends DockerCommitResult {
  /** Host ports (ranges expanded) whose rules were added, or removed for unpublish. */
  changed: number;
  /** Host ports already in the requested state (already published, or not published). */
  unchanged: number;
}

export interface DockerRepairResult extends DockerCommitResult {
  /** The findings before the repair. */
  before: Finding[];
  /** The findings after it (empty when the repair fixed everything it can). */
  after: Finding[];
}

/** A port to unpublish: proto and host port are required; the rest narrows the match. */
export interface DockerUnpublishPort {
  proto: DockerProto;
  hostPort: number | string;
  /** Default: every host address. */
  hostIp?: string;
  network?: string;
  containerIp?: string;
  containerPort?: number | string;
}

// ---------------------------------------------------------------------------------------
// Rules between text and model.

/** The iptables-save argument text after `-A CHAIN ` of a rule read from the kernel. */
export function ruleText(chain: string, rule: Rule, family: Family): string {
  const full = printRule(chain, rule, family);
  const prefix = `-A ${chain}`;
  return full.length > prefix.length ? full.slice(prefix.length + 1) : '';
}

class RuleParser {
  private readonly cache = new Map<string, Rule>();
  /** Kernel rules of Docker's per-port shapes, by the text that describes them (perPortText). */
  private readonly kernel = new Map<string, { rule: Rule; shape: string; copy?: Rule }>();
  /** Per shape: whether parsing its text gives the kernel's rule (checked on its first use). */
  private readonly shapeOk = new Map<string, boolean>();
  constructor(private readonly family: Family) {}

  /**
   * Rules already in the kernel: a text that describes one of them gives a copy of it
   * (without counters) instead of a parse, once a parse of one text of its shape has given
   * exactly the kernel's rule (perPortText fixes every other field of the shape).
   */
  offer(rules: readonly Rule[]): void {
    for (const r of rules) {
      const p = perPortText(r, this.family);
      if (!p) continue;
      this.texts.set(r, p);
      if (!this.kernel.has(p.text)) this.kernel.set(p.text, { rule: r, shape: p.shape });
    }
  }

  /** perPortText of the rules offered, for textOf. */
  readonly texts = new Map<Rule, { text: string; shape: string }>();

  parse(text: string): Rule {
    const k = this.kernel.get(text);
    if (k) {
      if (k.copy) return k.copy;
      const copy: Rule = { ...k.rule, counters: undefined };
      let ok = this.shapeOk.get(k.shape);
      if (ok === undefined) {
        ok = JSON.stringify(this.parseText(text)) === JSON.stringify(copy);
        this.shapeOk.set(k.shape, ok);
      }
      if (ok) return (k.copy = copy);
    }
    return this.parseText(text);
  }

  private parseText(text: string): Rule {
    let r = this.cache.get(text);
    if (!r) {
      r = parseRuleArgs(tokenizeRestoreLine(text), this.family).rule;
      this.cache.set(text, r);
    }
    return r;
  }
  all(texts: readonly string[]): Rule[] {
    return texts.map((t) => this.parse(t));
  }
}

function isJumpTo(rule: Rule, chains: ReadonlySet<string>): boolean {
  return rule.target.kind === 'jump' && chains.has(rule.target.chain);
}

/** Bridges the ownership test accepts: the state's, and every interface Docker's chains name. */
function knownBridges(state: DockerState, current: readonly Table[]): Set<string> {
  const out = new Set(state.networks.map((n) => n.bridge));
  for (const t of current) {
    for (const c of t.chains) {
      if (!isDockerOwnedChain(t.name, c.name)) continue;
      for (const r of c.rules) {
        for (const name of [r.inInterface, r.outInterface]) if (name && name !== 'lo') out.add(name);
      }
    }
  }
  return out;
}

/** Per shape of perPortText: whether its text is what printRule prints (checked once). */
type PrintCheck = Map<string, boolean>;

/** ruleText, without printing a rule of Docker's per-port shapes once its shape printed the same. */
function textOf(chain: string, r: Rule, family: Family, checked: PrintCheck, known?: ReadonlyMap<Rule, { text: string; shape: string }>): string {
  const p = known ? known.get(r) : perPortText(r, family);
  if (!p) return ruleText(chain, r, family);
  let ok = checked.get(p.shape);
  if (ok === undefined) {
    const printed = ruleText(chain, r, family);
    ok = printed === p.text;
    checked.set(p.shape, ok);
    return printed;
  }
  return ok ? p.text : ruleText(chain, r, family);
}

function ownsFn(
  family: Family,
  table: string,
  chain: string,
  bridges: ReadonlySet<string>,
  known?: ReadonlyMap<Rule, { text: string; shape: string }>,
): (r: Rule) => boolean {
  const checked: PrintCheck = new Map();
  return (r) => r.foreign === undefined && isDockerRule(family, table, chain, textOf(chain, r, family, checked, known), bridges);
}

// ---------------------------------------------------------------------------------------
// apply: the whole desired state of one family.

function familyTables(rs: DockerFamilyRuleset, current: readonly Table[]): TableName[] {
  const want = new Set<string>();
  for (const g of [...rs.ownedChains, ...rs.builtinRules, ...rs.userChains]) want.add(g.table);
  // Tables that exist and hold something of Docker's are looked at too (stale rules go).
  return DOCKER_TABLES.filter((t) => want.has(t) || current.some((c) => c.name === t));
}

/** The intents that make one family's tables hold exactly `rs`'s Docker rules. */
export function applyIntents(
  state: DockerState,
  rs: DockerFamilyRuleset,
  family: Family,
  current: readonly Table[],
): TableIntent[] {
  const parser = new RuleParser(family);
  for (const t of current) {
    if (t.name !== 'nat' && t.name !== 'filter') continue;
    for (const c of t.chains) if (c.name === DOCKER_CHAIN || c.name === 'POSTROUTING') parser.offer(c.rules);
  }
  const bridges = knownBridges(state, current);
  const intents: TableIntent[] = [];
  for (const tableName of familyTables(rs, current)) {
    const cur = current.find((t) => t.name === tableName);
    const chains: ChainIntent[] = [];
    const desiredOwned = rs.ownedChains.filter((c) => c.table === tableName);
    for (const c of desiredOwned) chains.push({ chain: c.chain, mode: 'exact', rules: parser.all(c.rules) });
    for (const c of rs.userChains.filter((u) => u.table === tableName)) {
      chains.push({ chain: c.chain, mode: 'ensure', rules: parser.all(c.rules) });
    }

    // Built-in chains: Docker's blocks, every other rule kept.
    const builtinIntents = new Map<string, ChainIntent>();
    for (const chain of BUILTIN_CHAINS[tableName]) {
      const groups = rs.builtinRules.filter((g) => g.table === tableName && g.chain === chain);
      const curChain = cur?.chains.find((c) => c.name === chain);
      const owns = ownsFn(family, tableName, chain, bridges, tableName === 'nat' && chain === 'POSTROUTING' ? parser.texts : undefined);
      if (groups.length === 0 && !curChain?.rules.some(owns)) continue;
      const top = groups.filter((g) => g.position === 'top').flatMap((g) => g.rules);
      const bottom = groups.filter((g) => g.position === 'bottom').flatMap((g) => g.rules);
      let topRules = parser.all(top);
      let ownsAll = owns;
      if (tableName === 'filter' && chain === 'FORWARD' && top[0] === `-j ${DOCKER_USER_CHAIN}` && curChain) {
        // Rules above Docker's first rule (or above the DOCKER-USER jump) bypass DOCKER-USER:
        // claim them and put them back right below the jump.
        const rules = curChain.rules;
        let firstDocker = rules.findIndex((r) => ruleText(chain, r, family) === `-j ${DOCKER_USER_CHAIN}`);
        if (firstDocker < 0) firstDocker = rules.findIndex(owns);
        const above = firstDocker > 0 ? rules.slice(0, firstDocker).filter((r) => !owns(r) && r.foreign === undefined) : [];
        if (above.length > 0) {
          const aboveKeys = new Set(above.map(ruleKey));
          ownsAll = (r) => owns(r) || (r.foreign === undefined && aboveKeys.has(ruleKey(r)));
          topRules = [topRules[0]!, ...above.map(({ counters: _c, ...r }) => r), ...topRules.slice(1)];
        }
      }
      const blocks: OwnedBlock[] = [
        { position: 'top', rules: topRules },
        { position: 'bottom', rules: parser.all(bottom) },
      ];
      builtinIntents.set(chain, { chain, mode: 'owned', owns: ownsAll, blocks });
    }
    chains.push(...builtinIntents.values());

    // Docker chains the layout does not have: deleted unless something that stays jumps there.
    const stale = new Set(
      (cur?.chains ?? [])
        .filter((c) => isDockerOwnedChain(tableName, c.name) && !desiredOwned.some((d) => d.chain === c.name))
        .map((c) => c.name),
    );
    if (stale.size > 0) {
      let referenced = false;
      for (const c of cur?.chains ?? []) {
        if (stale.has(c.name) || desiredOwned.some((d) => d.chain === c.name)) continue;
        const bi = builtinIntents.get(c.name);
        const owned = bi && bi.mode === 'owned' ? bi.owns : undefined;
        for (const r of c.rules) if (isJumpTo(r, stale) && !(owned && owned(r))) referenced = true;
      }
      for (const name of stale) {
        chains.push(referenced ? { chain: name, mode: 'exact', rules: [] } : { chain: name, mode: 'delete' });
      }
    }
    intents.push({ table: tableName, chains });
  }
  return intents;
}

// ---------------------------------------------------------------------------------------
// publish / unpublish: the difference between two states, as owned blocks of just those rules.

interface ChainLists {
  table: TableName;
  chain: string;
  builtin: boolean;
  rules: string[];
}

function chainLists(rs: DockerFamilyRuleset): Map<string, ChainLists> {
  const out = new Map<string, ChainLists>();
  for (const c of [...rs.ownedChains]) out.set(`${c.table}/${c.chain}`, { table: c.table, chain: c.chain, builtin: false, rules: c.rules });
  for (const g of rs.builtinRules) {
    const k = `${g.table}/${g.chain}`;
    if (!out.has(k)) out.set(k, { table: g.table, chain: g.chain, builtin: true, rules: builtinChainRules(rs, g.table, g.chain) });
  }
  return out;
}

/**
 * Intents that turn `before`'s Docker rules into `after`'s, touching only the rules that
 * differ. New rules go where Docker puts them: when they are the head or tail of Docker's
 * rules in that chain they are placed as a top or bottom block; otherwise that chain gets
 * the full apply intent (which still keeps every unchanged rule).
 */
export function deltaIntents(
  before: DockerFamilyRuleset,
  after: DockerFamilyRuleset,
  afterState: DockerState,
  family: Family,
  current: readonly Table[],
): TableIntent[] {
  const parser = new RuleParser(family);
  const b = chainLists(before);
  const a = chainLists(after);
  const byTable = new Map<string, ChainIntent[]>();
  let full: TableIntent[] | undefined;
  for (const key of new Set([...b.keys(), ...a.keys()])) {
    const was = b.get(key)?.rules ?? [];
    const now = a.get(key)?.rules ?? [];
    const meta = (a.get(key) ?? b.get(key))!;
    const wasSet = new Set(was);
    const nowSet = new Set(now);
    const added = now.filter((r) => !wasSet.has(r));
    const removed = was.filter((r) => !nowSet.has(r));
    if (added.length === 0 && removed.length === 0) continue;
    const table = current.find((t) => t.name === meta.table);
    if (!meta.builtin && !table?.chains.some((c) => c.name === meta.chain)) {
      throw new RangeError(
        `chain ${meta.chain} is missing from the ${meta.table} table (${family}): repair the host first (iptkit docker repair STATE.json)`,
      );
    }
    const addedSet = new Set(added);
    let head = 0;
    while (head < now.length && addedSet.has(now[head]!)) head++;
    let tail = 0;
    while (tail < now.length - head && addedSet.has(now[now.length - 1 - tail]!)) tail++;
    let intent: ChainIntent;
    if (head + tail === added.length) {
      const keys = new Set([...added, ...removed].map((t) => ruleKey(parser.parse(t))));
      intent = {
        chain: meta.chain,
        mode: 'owned',
        owns: (r) => r.foreign === undefined && keys.has(ruleKey(r)),
        blocks: [
          { position: 'top', rules: parser.all(now.slice(0, head)) },
          { position: 'bottom', rules: parser.all(now.slice(now.length - tail)) },
        ],
      };
    } else {
      full ??= applyIntents(afterState, after, family, current);
      const fromFull = full.find((t) => t.table === meta.table)?.chains.find((c) => c.chain === meta.chain);
      if (!fromFull) throw new Error(`internal: no intent for ${meta.table} ${meta.chain}`);
      intent = fromFull;
    }
    const list = byTable.get(meta.table) ?? [];
    list.push(intent);
    byTable.set(meta.table, list);
  }
  return [...byTable.entries()].map(([table, chains]) => ({ table, chains }));
}

/**
 * deltaIntents for the classic layout when only ports change, from the changed ports and the
 * ports that share a container address with them (every per-port rule names that address):
 * Docker's per-port rules are appended (nat DOCKER DNAT, nat POSTROUTING hairpin MASQUERADE,
 * filter DOCKER ACCEPT), so new rules are the chain's tail, or all of it when it was empty.
 * `before` are the ports before the change; `added` or `removed` the change (one is empty);
 * `after` the ports after it.
 */
function classicPortDelta(
  kernel: DockerState,
  family: Family,
  current: readonly Table[],
  before: readonly PortBinding[],
  added: readonly PortBinding[],
  removed: readonly PortBinding[],
  after: readonly PortBinding[],
  clean?: WeakSet<Rule>,
): TableIntent[] {
  if ([...added, ...removed].some((b) => b.proto === 'sctp')) throw new FastPathUnavailable('sctp');
  const parser = new RuleParser(family);
  const hairpin = !kernel.userlandProxy;
  const bridgeOf = new Map(kernel.networks.map((n) => [n.name, n.bridge]));
  const external = kernel.networks.filter((n) => subnetFor(n, family) !== undefined && !n.internal);
  const changedIps = new Set([...added, ...removed].map((b) => b.containerIp));
  const relatedBefore = before.filter((b) => changedIps.has(b.containerIp));
  const relatedAfter = after.filter((b) => changedIps.has(b.containerIp));
  const dnat = (b: PortBinding): string => dnatRule(b, bridgeOf.get(b.network)!, !hairpin, false);
  const accept = (b: PortBinding): string => acceptPortRule(b, bridgeOf.get(b.network)!);
  const natTop = hairpin ? 0 : external.filter((n) => n.masquerade).length;
  const postTop = external.reduce((k, n) => k + (hairpin ? 1 : 0) + (n.masquerade ? 1 : 0), 0);
  const chains: Array<{ table: TableName; chain: string; builtin: boolean; text: (b: PortBinding) => string; wasEmpty: boolean }> = [
    { table: 'nat', chain: DOCKER_CHAIN, builtin: false, text: dnat, wasEmpty: natTop + before.length === 0 },
    { table: 'filter', chain: DOCKER_CHAIN, builtin: false, text: accept, wasEmpty: before.length === 0 },
    { table: 'nat', chain: 'POSTROUTING', builtin: true, text: hairpinMasqueradeRule, wasEmpty: postTop + before.length === 0 },
  ];
  const byTable = new Map<string, ChainIntent[]>();
  for (const c of chains) {
    const was = new Set(relatedBefore.map(c.text));
    const now = new Set(relatedAfter.map(c.text));
    const plus = [...new Set(added.map(c.text))].filter((t) => !was.has(t));
    const minus = removed.map(c.text).filter((t) => !now.has(t));
    if (plus.length === 0 && minus.length === 0) continue;
    if (!c.builtin && !current.find((t) => t.name === c.table)?.chains.some((x) => x.name === c.chain)) {
      throw new FastPathUnavailable(`chain ${c.chain} missing`);
    }
    const rules = parser.all(plus);
    const intent: ChainIntent = {
      chain: c.chain,
      mode: 'owned',
      owns: ownsKeysOf([...rules, ...parser.all(minus)], clean),
      blocks: [
        { position: 'top', rules: c.wasEmpty ? rules : [] },
        { position: 'bottom', rules: c.wasEmpty ? [] : rules },
      ],
    };
    const list = byTable.get(c.table) ?? [];
    list.push(intent);
    byTable.set(c.table, list);
  }
  return [...byTable.entries()].map(([table, chains]) => ({ table, chains }));
}

/** Thrown out of a fast-path transaction that has nothing to commit. */
class NothingToCommit {
  constructor(readonly result: DockerPublishResult) {}
}

function bindingKey(b: PortBinding): string {
  return `${b.proto}|${b.hostIp}|${b.hostPort}`;
}

function sameBinding(x: PortBinding, y: PortBinding): boolean {
  return (
    bindingKey(x) === bindingKey(y) && x.network === y.network && x.containerIp === y.containerIp && x.containerPort === y.containerPort
  );
}

function singlePort(b: PortBinding): DockerPort {
  return {
    network: b.network,
    proto: b.proto,
    hostIp: b.hostIp,
    hostPort: b.hostPort,
    containerIp: b.containerIp,
    containerPort: b.containerPort,
  };
}

function allBindings(ports: readonly DockerPort[]): PortBinding[] {
  return [...expandPorts(ports, 'ipv4'), ...expandPorts(ports, 'ipv6')];
}

// ---------------------------------------------------------------------------------------

/** A Docker host's netfilter: both address families of one namespace. */
export class DockerHost {
  readonly netns: string | undefined;
  private readonly nf: Record<Family, Netfilter>;

  private constructor(v4: Netfilter, v6: Netfilter, options: DockerHostOptions) {
    this.nf = { ipv4: v4, ipv6: v6 };
    this.netns = options.netns;
  }

  /** Opens both families; with backend 'auto' the IPv4 tables decide for both. */
  static async open(options: DockerHostOptions = {}): Promise<DockerHost> {
    const v4 = await Netfilter.open({ ...options, family: 'ipv4' });
    const v6 = await Netfilter.open({ ...options, backend: v4.backend, family: 'ipv6' });
    return new DockerHost(v4, v6, options);
  }

  get backend(): Netfilter['backend'] {
    return this.nf.ipv4.backend;
  }

  /** The Netfilter handle of one family. */
  netfilter(family: Family): Netfilter {
    return this.nf[family];
  }

  private async readDockerTables(family: Family): Promise<Table[]> {
    // nf_tables reads only the tables that exist; a legacy read would create a missing one.
    if (this.nf[family].backend === 'nft') return this.nf[family].read(DOCKER_TABLES);
    const names = await this.nf[family].tableNames();
    const wanted = DOCKER_TABLES.filter((t) => names.includes(t));
    return wanted.length ? this.nf[family].read(wanted) : [];
  }

  /** The kernel's Docker tables as iptables-save texts, the input of the pure model. */
  async saves(): Promise<FamilySaves[]> {
    const out: FamilySaves[] = [];
    for (const family of FAMILIES) out.push(savesOf(family, await this.readDockerTables(family)));
    return out;
  }

  /**
   * Makes the host hold exactly the state's Docker rules, one commit per family. A family
   * none of whose networks has a subnet there is left alone (Docker writes nothing to it).
   */
  async apply(stateJson: unknown): Promise<DockerCommitResult> {
    const state = validateState(stateJson);
    const rs = desiredRules(state);
    const out: DockerCommitResult = {};
    for (const family of FAMILIES) {
      const fr = rs[family];
      if (fr.ownedChains.length + fr.builtinRules.length + fr.userChains.length === 0) continue;
      // One read, under the commit's guard: the intents are computed from it.
      const tables = await this.dockerTablesFor(family, fr);
      out[family] = await this.nf[family].update(tables, (current) => applyIntents(state, fr, family, current));
    }
    return out;
  }

  /** The tables apply reads and commits: the ones the ruleset writes to, and those that exist. */
  private async dockerTablesFor(family: Family, rs: DockerFamilyRuleset): Promise<TableName[]> {
    // nf_tables reads only the tables that exist; a legacy read would create a missing one,
    // as the commit of a table the ruleset writes to does anyway.
    if (this.nf[family].backend === 'nft') return [...DOCKER_TABLES];
    const names = await this.nf[family].tableNames();
    const want = new Set<string>();
    for (const g of [...rs.ownedChains, ...rs.builtinRules, ...rs.userChains]) want.add(g.table);
    return DOCKER_TABLES.filter((t) => want.has(t) || names.includes(t));
  }

  /** What apply would commit, per family, without committing (unchanged plans: nothing). */
  async plan(stateJson: unknown): Promise<Partial<Record<Family, TablePlan[]>>> {
    const state = validateState(stateJson);
    const rs = desiredRules(state);
    const out: Partial<Record<Family, TablePlan[]>> = {};
    for (const family of FAMILIES) {
      const fr = rs[family];
      if (fr.ownedChains.length + fr.builtinRules.length + fr.userChains.length === 0) continue;
      const current = await this.readDockerTables(family);
      out[family] = await this.nf[family].plan(applyIntents(state, fr, family, current));
    }
    return out;
  }

  /** The Docker state the kernel's rules describe (see infer.ts for what rules cannot say). */
  async inferState(hints: InferHints = {}): Promise<DockerState> {
    return inferFromSaves(await this.saves(), hints);
  }

  /** Every finding about the host's Docker rules; bridges are read over rtnetlink. */
  async doctor(stateJson?: unknown): Promise<Finding[]> {
    const state = stateJson === undefined ? undefined : validateState(stateJson);
    const [saves, bridges] = await Promise.all([this.saves(), bridgeNames(this.netns)]);
    return doctorOf(saves, { ...(state ? { state } : {}), bridges });
  }

  /** apply, with the findings before and after. */
  async repair(stateJson: unknown): Promise<DockerRepairResult> {
    const state = validateState(stateJson);
    const before = await this.doctor(state);
    const result = await this.apply(state);
    const after = await this.doctor(state);
    return { ...result, before, after };
  }

  /** The base the incremental operations work from: networks, and the kernel's ports. */
  private async currentState(
    state: DockerState | undefined,
  ): Promise<{ base: DockerState; current: Record<Family, Table[]>; inferredBridges: string[] }> {
    const current = { ipv4: await this.readDockerTables('ipv4'), ipv6: await this.readDockerTables('ipv6') };
    const saves = FAMILIES.map((f) => savesOf(f, current[f]));
    const hints: InferHints | undefined = state
      ? { networks: state.networks.map((n) => ({ bridge: n.bridge, name: n.name, subnet: n.subnet, ...(n.subnet6 ? { subnet6: n.subnet6 } : {}) })) }
      : undefined;
    const kernel = inferFromSaves(saves, hints);
    const inferredBridges = kernel.networks.map((n) => n.bridge);
    if (!state) return { base: kernel, current, inferredBridges };
    // The state's networks; the kernel's ports on them (by bridge).
    const bridgeOfName = new Map(kernel.networks.map((n) => [n.name, n.bridge]));
    const byBridge = new Map(state.networks.map((n) => [n.bridge, n.name]));
    const ports = kernel.ports.flatMap((p) => {
      const name = byBridge.get(bridgeOfName.get(p.network) ?? '');
      return name === undefined ? [] : [{ ...p, network: name }];
    });
    const base: DockerState = { ...state, ports };
    return { base, current, inferredBridges };
  }

  private async commitDelta(
    before: DockerState,
    after: DockerState,
    current: Record<Family, Table[]>,
  ): Promise<DockerCommitResult> {
    const rb = desiredRules(before);
    const ra = desiredRules(after);
    const out: DockerCommitResult = {};
    for (const family of FAMILIES) {
      const intents = deltaIntents(rb[family], ra[family], after, family, current[family]);
      if (intents.length === 0) continue;
      out[family] = await this.nf[family].apply(intents);
    }
    return out;
  }

  /**
   * Publishes ports (DockerPort objects; `network` names a network or its bridge) in one
   * commit per family, adding only their rules. Ports already published are left alone; a
   * port whose host binding is taken by another container is refused (RangeError).
   */
  async publish(portsJson: readonly unknown[], options: { state?: unknown } = {}): Promise<DockerPublishResult> {
    if (options.state === undefined) {
      const fast = await this.fastPorts(portsJson, 'publish');
      if (fast) return fast;
    }
    return this.publishGeneral(portsJson, options);
  }

  /** Unpublishes ports (matched by proto and host port, and whatever else is given). */
  async unpublish(portsJson: readonly unknown[], options: { state?: unknown } = {}): Promise<DockerPublishResult> {
    if (options.state === undefined) {
      const fast = await this.fastPorts(portsJson, 'unpublish');
      if (fast) return fast;
    }
    return this.unpublishGeneral(portsJson, options);
  }

  /**
   * publish/unpublish without a state file on the common host (fast.ts): one read of the
   * family's nat and filter tables, under the commit's guard, and only the changed ports'
   * rules built. Undefined when the fast path does not apply: the general path decides then
   * (and throws its errors: any error here sends the caller there).
   */
  private async fastPorts(portsJson: readonly unknown[], op: 'publish' | 'unpublish'): Promise<DockerPublishResult | undefined> {
    let family: Family | undefined;
    if (op === 'publish') {
      for (const raw of portsJson) {
        const ip = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['containerIp'] : undefined;
        const f = typeof ip === 'string' ? parseAddress(ip)?.family : undefined;
        if (f === undefined || (family !== undefined && f !== family)) return undefined;
        family = f;
      }
      if (family === undefined) return undefined;
    } else {
      // The family with the ports: IPv4, unless only the IPv6 tables have any.
      const v6 = await this.readDockerTables('ipv6');
      family = otherFamilyQuiet(v6) ? 'ipv4' : 'ipv6';
    }
    const other: Family = family === 'ipv4' ? 'ipv6' : 'ipv4';
    const otherTables = await this.readDockerTables(other);
    if (!otherFamilyQuiet(otherTables)) return undefined;
    const otherSaves = savesOf(other, otherTables);
    const nf = this.nf[family];
    if (nf.backend === 'legacy') {
      const names = await nf.tableNames();
      if (!names.includes('nat') || !names.includes('filter')) return undefined;
    }
    let outcome: { changed: number; unchanged: number } = { changed: 0, unchanged: 0 };
    try {
      const fam = family;
      const result = await nf.update(['nat', 'filter'], (current) => {
        try {
          const { kernel, bindings, clean } = fastBase(fam, current, otherSaves);
          const r = op === 'publish' ? fastPublishDelta(kernel, bindings, portsJson) : fastUnpublishDelta(kernel, bindings, portsJson);
          if (r.changed === 0) throw new NothingToCommit({ changed: 0, unchanged: r.unchanged });
          outcome = { changed: r.changed, unchanged: r.unchanged };
          return classicPortDelta(kernel, fam, current, r.before, r.added, r.removed, r.after, clean);
        } catch (e) {
          if (e instanceof NothingToCommit) throw e;
          throw new FastPathUnavailable(e instanceof Error ? e.message : String(e));
        }
      });
      return { [fam]: result, ...outcome };
    } catch (e) {
      if (e instanceof NothingToCommit) return e.result;
      if (e instanceof FastPathUnavailable) return undefined;
      throw e;
    }
  }

  private async publishGeneral(portsJson: readonly unknown[], options: { state?: unknown } = {}): Promise<DockerPublishResult> {
    const given = options.state === undefined ? undefined : validateState(options.state);
    const { base, current, inferredBridges } = await this.currentState(given);
    if (base.layout === 'nft') throw new RangeError('layout: "nft" has no iptables rules to publish');
    const nets = new Map<string, string>();
    for (const n of base.networks) {
      nets.set(n.name, n.name);
      if (!nets.has(n.bridge)) nets.set(n.bridge, n.name);
    }
    const requested: unknown[] = portsJson.map((raw, i) => {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError(`ports[${i}]: ${JSON.stringify(raw)} is not an object`);
      const p = raw as Record<string, unknown>;
      const name = typeof p['network'] === 'string' ? nets.get(p['network']) : undefined;
      if (name === undefined) {
        const known = base.networks.map((n) => `${n.name} (${n.bridge})`).join(', ') || 'none';
        throw new RangeError(`ports[${i}].network: ${JSON.stringify(p['network'])} is not a network of this host (known: ${known})`);
      }
      return { ...p, network: name };
    });
    // Validated on their own first, so that errors name the caller's index.
    const fresh = validateState({ ...base, ports: requested, endpoints: undefined }).ports;
    // A network of the state file whose rules are not on the host: publishing its ports alone
    // would leave DNATs that nothing forwards; apply (or repair) the state first.
    const onHost = new Set(inferredBridges);
    for (const [i, p] of fresh.entries()) {
      const n = base.networks.find((x) => x.name === p.network)!;
      if (!onHost.has(n.bridge)) {
        throw new RangeError(
          `ports[${i}].network: network ${JSON.stringify(n.name)} (bridge ${n.bridge}) has no rules on this host: apply the state first (iptkit docker apply STATE.json)`,
        );
      }
    }
    const have = allBindings(base.ports);
    const haveKeys = new Map(have.map((b) => [`${portFamily(singlePort(b))}|${bindingKey(b)}`, b]));
    const add: DockerPort[] = [];
    let unchanged = 0;
    for (const b of allBindings(fresh)) {
      const existing = haveKeys.get(`${b.family}|${bindingKey(b)}`);
      if (existing && sameBinding(existing, b)) {
        unchanged++;
        continue;
      }
      add.push(singlePort(b));
    }
    if (add.length === 0) return { changed: 0, unchanged };
    const after = validateState({ ...base, ports: [...base.ports, ...add] });
    const before: DockerState = { ...after, ports: base.ports };
    const result = await this.commitDelta(before, after, current);
    return { ...result, changed: add.length, unchanged };
  }

  private async unpublishGeneral(portsJson: readonly unknown[], options: { state?: unknown } = {}): Promise<DockerPublishResult> {
    const given = options.state === undefined ? undefined : validateState(options.state);
    const { base, current } = await this.currentState(given);
    if (base.layout === 'nft') throw new RangeError('layout: "nft" has no iptables rules to unpublish');
    const matchers = portsJson.map((raw, i) => unpublishMatcher(raw, i, base));
    const have = allBindings(base.ports);
    const keep: PortBinding[] = [];
    let changed = 0;
    for (const b of have) {
      if (matchers.some((m) => m(b))) changed++;
      else keep.push(b);
    }
    const requestedPorts = matchers.length;
    if (changed === 0) return { changed: 0, unchanged: requestedPorts };
    const after: DockerState = { ...base, ports: keep.map(singlePort) };
    const result = await this.commitDelta(base, after, current);
    return { ...result, changed, unchanged: 0 };
  }
}

interface PortChange {
  changed: number;
  unchanged: number;
  before: PortBinding[];
  added: PortBinding[];
  removed: PortBinding[];
  after: PortBinding[];
}

/** publish's decisions (see publishGeneral) on the kernel's networks and ports. */
function fastPublishDelta(kernel: DockerState, bindings: PortBinding[], portsJson: readonly unknown[]): PortChange {
  const base: DockerState = { ...kernel, ports: [] };
  const nets = new Map<string, string>();
  for (const n of base.networks) {
    nets.set(n.name, n.name);
    if (!nets.has(n.bridge)) nets.set(n.bridge, n.name);
  }
  const requested: unknown[] = portsJson.map((raw, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError(`ports[${i}]: not an object`);
    const p = raw as Record<string, unknown>;
    const name = typeof p['network'] === 'string' ? nets.get(p['network']) : undefined;
    if (name === undefined) throw new RangeError(`ports[${i}].network: not a network of this host`);
    return { ...p, network: name };
  });
  const fresh = validateState({ ...base, ports: requested, endpoints: undefined }).ports;
  const onHost = new Set(kernel.networks.map((n) => n.bridge));
  for (const p of fresh) {
    if (!onHost.has(base.networks.find((x) => x.name === p.network)!.bridge)) throw new RangeError('network has no rules on this host');
  }
  const haveKeys = new Map(bindings.map((b) => [`${b.family}|${bindingKey(b)}`, b]));
  const add: PortBinding[] = [];
  let unchanged = 0;
  for (const b of allBindings(fresh)) {
    const existing = haveKeys.get(`${b.family}|${bindingKey(b)}`);
    if (existing && sameBinding(existing, b)) {
      unchanged++;
      continue;
    }
    add.push(b);
  }
  if (add.length === 0) return { changed: 0, unchanged, before: [], added: [], removed: [], after: [] };
  // validateState of the state after: every port, the kernel's included (else the general
  // path throws its error).
  const valid = validBindings(base, [...bindings, ...add]);
  if (!valid) throw new RangeError('the state after publishing is not valid');
  const before = valid.slice(0, bindings.length);
  const added = valid.slice(bindings.length);
  return { changed: add.length, unchanged, before, added, removed: [], after: valid };
}

/** unpublish's decisions (see unpublishGeneral) on the kernel's networks and ports. */
function fastUnpublishDelta(kernel: DockerState, bindings: PortBinding[], portsJson: readonly unknown[]): PortChange {
  const base: DockerState = { ...kernel, ports: [] };
  const matchers = portsJson.map((raw, i) => unpublishMatcher(raw, i, base));
  const keep: PortBinding[] = [];
  const removed: PortBinding[] = [];
  for (const b of bindings) {
    if (matchers.some((m) => m(b))) removed.push(b);
    else keep.push(b);
  }
  if (removed.length === 0) return { changed: 0, unchanged: matchers.length, before: [], added: [], removed: [], after: [] };
  return { changed: removed.length, unchanged: 0, before: bindings, added: [], removed, after: keep };
}

function unpublishMatcher(raw: unknown, i: number, base: DockerState): (b: PortBinding) => boolean {
  const path = `ports[${i}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError(`${path}: ${JSON.stringify(raw)} is not an object`);
  const p = raw as Record<string, unknown>;
  const known = ['network', 'proto', 'hostIp', 'hostPort', 'containerIp', 'containerPort'];
  for (const k of Object.keys(p)) if (!known.includes(k)) throw new TypeError(`${path}.${k}: unknown key (expected one of ${known.join(', ')})`);
  const proto = p['proto'];
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw new RangeError(`${path}.proto: ${JSON.stringify(proto)} is not one of tcp, udp, sctp`);
  const host = parsePortSpec(p['hostPort']);
  if (!host) throw new RangeError(`${path}.hostPort: ${JSON.stringify(p['hostPort'])} is not a port or a range "A-B"`);
  const cont = p['containerPort'] === undefined ? undefined : parsePortSpec(p['containerPort']);
  if (p['containerPort'] !== undefined && !cont) throw new RangeError(`${path}.containerPort: ${JSON.stringify(p['containerPort'])} is not a port or a range "A-B"`);
  const addr = (key: string): string | undefined => {
    const v = p[key];
    if (v === undefined) return undefined;
    const c = typeof v === 'string' ? canonicalAddress(v) : undefined;
    if (c === undefined) throw new RangeError(`${path}.${key}: ${JSON.stringify(v)} is not an IP address`);
    return c;
  };
  const hostIp = addr('hostIp');
  const containerIp = addr('containerIp');
  let network: string | undefined;
  if (p['network'] !== undefined) {
    const n = base.networks.find((x) => x.name === p['network'] || x.bridge === p['network']);
    if (!n) throw new RangeError(`${path}.network: ${JSON.stringify(p['network'])} is not a network of this host`);
    network = n.name;
  }
  const hostFamily = hostIp !== undefined ? parseAddress(hostIp)?.family : undefined;
  return (b) =>
    b.proto === proto &&
    b.hostPort >= host.first &&
    b.hostPort <= host.last &&
    (hostIp === undefined || b.hostIp === hostIp || (isUnspecified(parseAddress(hostIp)!) && hostFamily === b.family && isUnspecified(parseAddress(b.hostIp)!))) &&
    (containerIp === undefined || b.containerIp === containerIp) &&
    (cont === undefined || b.containerPort === cont.first + (b.hostPort - host.first)) &&
    (network === undefined || b.network === network);
}

function savesOf(family: Family, tables: readonly Table[]): FamilySaves {
  const out: Record<string, string> = {};
  for (const t of tables) out[t.name] = printSave([t]);
  return { family, tables: out };
}
