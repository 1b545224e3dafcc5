// The Docker operations on a live host (issue 4): apply a whole state, publish and unpublish
// ports incrementally, infer the state from the kernel's rules, doctor, repair. Each commit
// goes through Netfilter.update with ownership-scoped intents (src/plan/plan.ts) computed from
// the tables as read under the commit's guard, one commit per address family (nft: one
// transaction; legacy: one lock hold, each table replaced once). Rules are canonical text
// throughout: the texts Docker's model writes (ruleset.ts) are what iptables-save prints, so a
// kernel rule is one of Docker's exactly when the texts are equal.
//
// apply:
// - Docker's own chains (nat DOCKER, filter DOCKER, DOCKER-ISOLATION-STAGE-1/2 up to v28,
//   v28's and v29's DOCKER-FORWARD, DOCKER-BRIDGE, DOCKER-CT, v29's DOCKER-INTERNAL) get
//   exactly the desired rules ("exact").
// - In built-in chains, iptkit owns only the rules of Docker's shapes (isDockerRule, with the
//   state's bridges): they are made to be the desired top and bottom blocks ("owned");
//   every other rule stays where it is, counters included.
// - DOCKER-USER is created with Docker's rules when missing and never touched otherwise.
// - A Docker chain the state's layout does not have (a v28 chain on a classic host, the
//   isolation chains on a v29 host: Docker 29 deletes them) is deleted when nothing left
//   references it, else emptied; repair (apply of the state) never puts such a chain back.
// - Docker keeps `-j DOCKER-USER` first in FORWARD (it re-inserts it on every start): when a
//   rule sits above it, the jump moves back to the top and those rules follow right below it.
// Rules that did not change keep their counters; on nft only the changed rules are sent.
//
// publish / unpublish (ports.ts): the commit holds exactly the rules of the ports that change
// (for unpublish, those no remaining port shares), planned from the family's tables under the
// commit's guard: read, or, while they still hold, as this host's last port operation left
// them (Netfilter.update's `reuse`), with the port view derived from its change. A port finds its network's bridge among the networks of the
// state given in the options (`state`, the state file of `iptkit docker publish --state`) or,
// without one, among the networks inferred from the kernel's rules, named as the last apply
// named them (record.ts; else by its bridge, "bridge" for docker0); a port's `network` may
// name the network or its bridge.
// The ports already published are always the kernel's: read, or kept while it holds them.

import { createHash } from 'node:crypto';
import { Netfilter, type CommitResult, type OpenOptions, type RulesetMark } from '../netfilter.js';
import { runStepsYielding, type Steps } from '../turn.js';
import { isOwned, planTable, type ChainIntent, type HeldChains, type OwnedBlock, type TableIntent, type TablePlan } from '../plan/plan.js';
import { BUILTIN_CHAINS, isForeignRule, type Family, type Table, type TableName } from '../rules/model.js';
import { canonicalAddress, parseAddress } from './address.js';
import { desiredRules, desiredRulesSteps } from './desired.js';
import { ensureHashNetSets, listIpsets } from './ipset.js';
import { extBridgesMembers, extBridgesSet } from './v280.js';
import { applyNftabler, previewNftabler, type NftablerPreview, publishNftabler, readNftabler, unpublishNftabler } from './nftabler-host.js';
import { inferNftabler } from './nftabler-infer.js';
import { doctorNftabler } from './nftabler-doctor.js';
import { doctorTables, ipsetFindings, readsIpset, type Finding } from './doctor.js';
import { inferTables, type InferHints } from './infer.js';
import { mergeHints, readApplied, readRecord, writeRecord, type AppliedMarks } from './record.js';
import { bridgeNames } from './links.js';
import { isDockerOwnedChain, isDockerRule, trustedInterfacesIn } from './recognise.js';
import { DOCKER_USER_CHAIN, expandPorts, type DockerChainRules, type DockerFamilyRuleset, type PortBinding } from './ruleset.js';
import { portView, publishDelta, unpublishDelta, type PortDelta, type PortView, type UnpublishMatch } from './ports.js';
import { tablesOf, type FamilySaves, type FamilyTables } from './saves.js';
import { DOCKER_PROTOS, hasDockerForward, parsePortSpec, validateState, validateStateSteps, type DockerProto, type DockerState } from './state.js';

/** The tables Docker writes to. */
const DOCKER_TABLES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter'];
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const NO_TABLES: readonly Table[] = Object.freeze([]);

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

/** A table's plan (DockerHost.plan) and the table as read when planned (undefined: not there yet). */
export interface DockerTablePlan extends TablePlan {
  current: Table | undefined;
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
// What a rule's canonical text says. It is regular: `[! ]-s X [! ]-d X [! ]-i X [! ]-o X
// [! ]-p X`, in that order, then the matches, then `-j X`/`-g X` and the target's options.

const INTERFACES = /^(?:(?:! )?-s \S+ )?(?:(?:! )?-d \S+ )?(?:(?:! )?-i (\S+) ?)?(?:(?:! )?-o (\S+))?/;

/** The interfaces (`-i`, `-o`, inverted or not) a rule names. */
function interfacesOf(rule: string): [string | undefined, string | undefined] {
  const m = INTERFACES.exec(rule)!;
  return [m[1], m[2]];
}

/** The chain a rule jumps or goes to (`-j X`/`-g X` ending the rule), if any. */
function jumpOf(rule: string): string | undefined {
  const m = /(?:^| )-[jg] (\S+)$/.exec(rule);
  return m ? m[1] : undefined;
}

/** Interfaces the ownership test accepts: the state's bridges and trusted interfaces, and every interface Docker's chains name. */
function knownBridges(state: DockerState, current: readonly Table[], held: HeldChains): Set<string> {
  const out = new Set(state.networks.flatMap((n) => [n.bridge, ...(n.trustedHostInterfaces ?? [])]));
  for (const [table, chains] of held) {
    for (const [name, c] of chains) {
      if (!isDockerOwnedChain(table as TableName, name)) continue;
      for (const i of c.interfaces) if (i !== 'lo') out.add(i);
    }
  }
  for (const t of current) {
    for (const c of t.chains) {
      if (!isDockerOwnedChain(t.name, c.name)) continue;
      for (const r of c.rules) {
        if (isForeignRule(r)) continue;
        for (const name of interfacesOf(r)) if (name && name !== 'lo') out.add(name);
      }
    }
  }
  const raw = current.find((t) => t.name === 'raw')?.chains.find((c) => c.name === 'PREROUTING');
  if (raw) for (const i of trustedInterfacesIn(raw.rules.filter((r) => !isForeignRule(r)), out)) out.add(i);
  return out;
}

// ---------------------------------------------------------------------------------------
// apply: the whole desired state of one family.

/** One of Docker's own chains as its text: its rules joined by `\n`, as a text intent gives them. */
export interface DockerChainText {
  table: TableName;
  chain: string;
  text: string;
}

/** A family's ruleset whose own chains may be given as texts (ownedTexts). */
export type DockerFamilyIntentRules = Omit<DockerFamilyRuleset, 'ownedChains'> & {
  ownedChains: ReadonlyArray<DockerChainRules | DockerChainText>;
};

/**
 * `rs` with each of Docker's own chains as one text: what apply keeps through its commit, so
 * that their rule strings (200,000 at 100,000 ports) are garbage before the commit rather than
 * alive beside their texts through it.
 */
function ownedTexts(rs: DockerFamilyRuleset): DockerFamilyIntentRules {
  return { ...rs, ownedChains: rs.ownedChains.map((c) => ({ table: c.table, chain: c.chain, text: c.rules.join('\n') })) };
}

/** The desired rulesets of apply, per family, with their own chains as texts (ownedTexts). */
async function desiredTexts(state: DockerState): Promise<Record<Family, DockerFamilyIntentRules>> {
  const rs = await runStepsYielding(desiredRulesSteps(state));
  return { ipv4: ownedTexts(rs.ipv4), ipv6: ownedTexts(rs.ipv6) };
}

function familyTables(rs: DockerFamilyIntentRules, current: readonly Table[]): TableName[] {
  const want = new Set<string>();
  for (const g of [...rs.ownedChains, ...rs.builtinRules, ...rs.userChains]) want.add(g.table);
  // Tables that exist and hold something of Docker's are looked at too (stale rules go).
  return DOCKER_TABLES.filter((t) => want.has(t) || current.some((c) => c.name === t));
}

/** Docker's own chains of a family, per table: apply's read holds them natively (see Netfilter.update). */
function ownedChainNames(rs: DockerFamilyIntentRules): Record<string, string[]> {
  const hold: Record<string, string[]> = {};
  for (const c of rs.ownedChains) (hold[c.table] ??= []).push(c.chain);
  return hold;
}

/**
 * The intents that make one family's tables hold exactly `rs`'s Docker rules. `held`: the
 * chains the read held natively (Docker's own chains on apply), read as empty in `current`.
 */
export function applyIntents(
  state: DockerState,
  rs: DockerFamilyIntentRules,
  family: Family,
  current: readonly Table[],
  held: HeldChains = new Map(),
): TableIntent[] {
  const bridges = knownBridges(state, current, held);
  const intents: TableIntent[] = [];
  for (const tableName of familyTables(rs, current)) {
    const cur = current.find((t) => t.name === tableName);
    const chains: ChainIntent[] = [];
    const desiredOwned = rs.ownedChains.filter((c) => c.table === tableName);
    // One text per chain: a held chain's rules cross to the addon as that one string.
    for (const c of desiredOwned) chains.push({ chain: c.chain, mode: 'exact', text: 'text' in c ? c.text : c.rules.join('\n') });
    for (const c of rs.userChains.filter((u) => u.table === tableName)) chains.push({ chain: c.chain, mode: 'ensure', rules: c.rules });

    // Built-in chains: Docker's blocks, every other rule kept.
    const builtinIntents = new Map<string, ChainIntent>();
    for (const chain of BUILTIN_CHAINS[tableName]) {
      const groups = rs.builtinRules.filter((g) => g.table === tableName && g.chain === chain);
      const curChain = cur?.chains.find((c) => c.name === chain);
      const owns = (r: string): boolean => !isForeignRule(r) && isDockerRule(family, tableName, chain, r, bridges);
      const policy = tableName === 'filter' && chain === 'FORWARD' ? rs.forwardPolicy : undefined;
      if (groups.length === 0 && !curChain?.rules.some(owns) && !policy) continue;
      let top = groups.filter((g) => g.position === 'top').flatMap((g) => g.rules);
      const bottom = groups.filter((g) => g.position === 'bottom').flatMap((g) => g.rules);
      let ownsAll = owns;
      const userJump = `-j ${DOCKER_USER_CHAIN}`;
      if (tableName === 'filter' && chain === 'FORWARD' && top[0] === userJump && curChain) {
        // Rules above Docker's first rule (or above the DOCKER-USER jump) bypass DOCKER-USER:
        // claim them and put them back right below the jump.
        const rules = curChain.rules;
        let firstDocker = rules.indexOf(userJump);
        if (firstDocker < 0) firstDocker = rules.findIndex(owns);
        const above = firstDocker > 0 ? rules.slice(0, firstDocker).filter((r) => !owns(r) && !isForeignRule(r)) : [];
        if (above.length > 0) {
          const aboveSet = new Set(above);
          ownsAll = (r) => owns(r) || aboveSet.has(r);
          top = [top[0]!, ...above, ...top.slice(1)];
        }
      }
      const blocks: OwnedBlock[] = [
        { position: 'top', rules: top },
        { position: 'bottom', rules: bottom },
      ];
      builtinIntents.set(chain, { chain, mode: 'owned', owns: ownsAll, blocks, ...(policy ? { policy } : {}) });
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
        for (const r of c.rules) {
          const to = jumpOf(r);
          if (to !== undefined && stale.has(to) && !(owned && isOwned(owned, r))) referenced = true;
        }
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
// publish / unpublish: the request, checked as far as it can be without the host's networks.

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The family a port to publish goes to: its container address's (IPv4 when that is not one). */
function publishFamily(p: Record<string, unknown>): Family {
  const ip = p['containerIp'];
  return (typeof ip === 'string' ? parseAddress(ip)?.family : undefined) ?? 'ipv4';
}

/**
 * The ports to publish as bindings of every family: networks (by name or bridge) from the
 * view's state, checked by validateState (errors name the caller's index), each on a network
 * with rules on the host.
 */
function freshBindings(view: PortView, ports: readonly Record<string, unknown>[]): PortBinding[] {
  const base = view.state;
  const nets = new Map<string, string>();
  for (const n of base.networks) {
    nets.set(n.name, n.name);
    if (!nets.has(n.bridge)) nets.set(n.bridge, n.name);
  }
  const requested = ports.map((p, i) => {
    const name = typeof p['network'] === 'string' ? nets.get(p['network']) : undefined;
    if (name === undefined) {
      const known = base.networks.map((n) => `${n.name} (${n.bridge})`).join(', ') || 'none';
      throw new RangeError(`ports[${i}].network: ${JSON.stringify(p['network'])} is not a network of this host (known: ${known})`);
    }
    return { ...p, network: name };
  });
  const fresh = validateState({ ...base, ports: requested, endpoints: undefined }).ports;
  // A network of the state file whose rules are not on the host: publishing its ports alone
  // would leave DNATs that nothing forwards; apply (or repair) the state first.
  for (const [i, p] of fresh.entries()) {
    const n = base.networks.find((x) => x.name === p.network)!;
    if (!view.onHost.has(n.bridge)) {
      throw new RangeError(
        `ports[${i}].network: network ${JSON.stringify(n.name)} (bridge ${n.bridge}) has no rules on this host: apply the state first (iptkit docker apply STATE.json)`,
      );
    }
  }
  return [...expandPorts(fresh, 'ipv4'), ...expandPorts(fresh, 'ipv6')];
}

interface UnpublishRequest extends UnpublishMatch {
  /** The network or bridge name given, resolved against the host's networks later. */
  networkGiven?: string;
}

function unpublishRequest(raw: unknown, i: number): UnpublishRequest {
  const path = `ports[${i}]`;
  if (!isObject(raw)) throw new TypeError(`${path}: ${JSON.stringify(raw)} is not an object`);
  const known = ['network', 'proto', 'hostIp', 'hostPort', 'containerIp', 'containerPort'];
  for (const k of Object.keys(raw)) if (!known.includes(k)) throw new TypeError(`${path}.${k}: unknown key (expected one of ${known.join(', ')})`);
  const proto = raw['proto'];
  if (typeof proto !== 'string' || !DOCKER_PROTOS.includes(proto as DockerProto)) {
    throw new RangeError(`${path}.proto: ${JSON.stringify(proto)} is not one of ${DOCKER_PROTOS.join(', ')}`);
  }
  const host = parsePortSpec(raw['hostPort']);
  if (!host) throw new RangeError(`${path}.hostPort: ${JSON.stringify(raw['hostPort'])} is not a port or a range "A-B"`);
  const cont = raw['containerPort'] === undefined ? undefined : parsePortSpec(raw['containerPort']);
  if (raw['containerPort'] !== undefined && !cont) throw new RangeError(`${path}.containerPort: ${JSON.stringify(raw['containerPort'])} is not a port or a range "A-B"`);
  const addr = (key: string): string | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    const c = typeof v === 'string' ? canonicalAddress(v) : undefined;
    if (c === undefined) throw new RangeError(`${path}.${key}: ${JSON.stringify(v)} is not an IP address`);
    return c;
  };
  const hostIp = addr('hostIp');
  const containerIp = addr('containerIp');
  const network = raw['network'];
  if (network !== undefined && typeof network !== 'string') throw new TypeError(`${path}.network: ${JSON.stringify(network)} is not a string`);
  return {
    proto: proto as DockerProto,
    first: host.first,
    last: host.last,
    ...(hostIp !== undefined ? { hostIp } : {}),
    ...(containerIp !== undefined ? { containerIp } : {}),
    ...(cont !== undefined ? { containerFirst: cont.first } : {}),
    ...(network !== undefined ? { networkGiven: network } : {}),
  };
}

/** The family an unpublish request is confined to by its addresses, if any. */
function unpublishFamily(r: UnpublishRequest): Family | undefined {
  const ip = r.hostIp ?? r.containerIp;
  return ip === undefined ? undefined : parseAddress(ip)?.family;
}

// ---------------------------------------------------------------------------------------

/**
 * A state's digest (SHA-256 of its JSON text), to tell the same state given again (undefined
 * when it cannot be written: a cycle, a BigInt; such a state is refused by validation
 * anyway). Its ports in slices of a thousand, each a step: 100,000 ports are 40 ms of
 * JSON.stringify.
 */
function* stateDigest(json: unknown): Steps<string | undefined> {
  try {
    const hash = createHash('sha256');
    if (!isObject(json) || !Array.isArray(json['ports'])) {
      const text = JSON.stringify(json);
      return text === undefined ? undefined : hash.update(text).digest('hex');
    }
    const ports = json['ports'] as unknown[];
    hash.update(JSON.stringify({ ...json, ports: undefined }));
    for (let i = 0; i < ports.length; i += 1000) {
      hash.update(JSON.stringify(ports.slice(i, i + 1000)));
      yield;
    }
    return hash.digest('hex');
  } catch {
    return undefined;
  }
}

/** An apply that found nothing to do: what the last one left, kept. */
function unchangedResult(last: DockerCommitResult): DockerCommitResult {
  const out: DockerCommitResult = {};
  for (const f of FAMILIES) {
    const r = last[f];
    if (r) out[f] = { backend: r.backend, attempts: 1, changed: [], added: 0, deleted: 0, kept: r.kept + r.added };
  }
  return out;
}

/** A Docker host's netfilter: both address families of one namespace. */
export class DockerHost {
  readonly netns: string | undefined;
  private readonly nf: Record<Family, Netfilter>;
  /** What this host's last apply left (the record holds the same for other processes). */
  private applied: AppliedMarks | undefined;
  /** The nf_tables ruleset at which Docker's nftables tables were last found absent (nftablerState). */
  private noNftabler: RulesetMark | undefined;
  /**
   * The port view inferred from (or, after a publish or unpublish, derived for) a family's
   * tables, by the tables' identity: Netfilter.update with `reuse` gives the same tables array
   * again while the kernel still holds exactly them, so a publish after a publish infers
   * nothing. `key`: the record of the applied state the view was named from.
   */
  private readonly views = new WeakMap<readonly Table[], { key: string; others: Array<readonly Table[]>; view: PortView }>();
  /** tablesOf of tables as read, by their identity (a kept read gives the same array again). */
  private readonly saved = new WeakMap<readonly Table[], FamilyTables>();

  private familyTables(family: Family, tables: readonly Table[]): FamilyTables {
    let t = this.saved.get(tables);
    if (!t) this.saved.set(tables, (t = tablesOf(family, tables)));
    return t;
  }

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

  /** The Docker tables of a family that exist (and `extra`, which a legacy read creates). */
  private async existingTables(family: Family, extra: readonly TableName[] = []): Promise<TableName[]> {
    // nf_tables reads only the tables that exist; a legacy read would create a missing one.
    if (this.nf[family].backend === 'nft') return [...DOCKER_TABLES];
    const names = await this.nf[family].tableNames();
    return DOCKER_TABLES.filter((t) => names.includes(t) || extra.includes(t));
  }

  /** `reuse`: the tables may be those the family's last port operation kept (Netfilter.readReusing). */
  private async readDockerTables(family: Family, reuse = false): Promise<Table[]> {
    const wanted = await this.existingTables(family);
    // One empty array for every read of none: a view made with it is found again (see views).
    if (!wanted.length) return reuse ? (NO_TABLES as Table[]) : [];
    return reuse ? (this.nf[family].readReusing(wanted) as Promise<Table[]>) : this.nf[family].read(wanted);
  }

  private async dockerRules(): Promise<FamilyTables[]> {
    const out: FamilyTables[] = [];
    for (const family of FAMILIES) out.push(tablesOf(family, await this.readDockerTables(family), DOCKER_TABLES));
    return out;
  }

  /** The kernel's Docker tables as iptables-save texts (read and printed natively), the input of the pure model. */
  async saves(): Promise<FamilySaves[]> {
    const out: FamilySaves[] = [];
    for (const family of FAMILIES) {
      const tables: Record<string, string> = {};
      for (const name of await this.existingTables(family)) {
        const text = await this.nf[family].save({ tables: [name] });
        if (text !== '') tables[name] = text;
      }
      out.push({ family, tables });
    }
    return out;
  }

  /**
   * Makes the host hold exactly the state's Docker rules, one commit per family. A family
   * none of whose networks has a subnet there is left alone (Docker writes nothing to it).
   */
  async apply(stateJson: unknown): Promise<DockerCommitResult> {
    // The same state as the last apply here (this host's, or any process's: the record), on
    // tables nobody changed since (but counters): nothing to do, and nothing is read or
    // planned (a reconcile loop's usual case, and `iptkit docker apply` run again).
    // Not for Docker 28.0.0's layout: its ipsets are not in the tables' fingerprint, so they
    // are made right on every apply (a no-op when they are), and no apply of it is remembered.
    const remembered = !(isObject(stateJson) && stateJson['layout'] === 'v28.0');
    const digest = remembered ? await runStepsYielding(stateDigest(stateJson)) : undefined;
    const last = digest === undefined ? undefined : this.applied?.digest === digest ? this.applied : await readApplied(this.netns, this.backend);
    this.applied = undefined;
    if (digest !== undefined && last?.digest === digest && (await this.unchangedSince(last))) {
      this.applied = last;
      return unchangedResult(last.result);
    }
    // In slices (turn.ts): a big state's validation and model are tens of milliseconds.
    const state = await runStepsYielding(validateStateSteps(stateJson));
    if (state.layout === 'docker-nft') {
      // Docker's nftables back end: its own docker-bridges tables, no iptables rule.
      const out = await applyNftabler(state, this.netns);
      await writeRecord(this.netns, state);
      return out;
    }
    const rs = await desiredTexts(state);
    const out: DockerCommitResult = {};
    const applied: AppliedMarks = { digest: digest ?? '', backend: this.backend, marks: {}, result: out };
    for (const family of FAMILIES) {
      const fr = rs[family];
      if (fr.ownedChains.length + fr.builtinRules.length + fr.userChains.length === 0) continue;
      // One read, under the commit's guard: the intents are computed from it. A legacy read
      // creates the tables the ruleset writes to, as their commit would anyway.
      const want = new Set<TableName>();
      for (const g of [...fr.ownedChains, ...fr.builtinRules, ...fr.userChains]) want.add(g.table);
      const tables = await this.existingTables(family, [...want]);
      // Docker 28.0.0's FORWARD rules name its ipset: the set must exist, with the bridges'
      // subnets, before a commit that names it (and a network that goes leaves it first).
      if (state.layout === 'v28.0') {
        await ensureHashNetSets([{ name: extBridgesSet(family), family: family === 'ipv4' ? 'inet' : 'inet6', members: extBridgesMembers(state, family) }], this.netns);
      }
      const r = await this.nf[family].update(tables, (current, held) => applyIntents(state, fr, family, current, held), {
        hold: ownedChainNames(fr),
        fingerprint: DOCKER_TABLES,
      });
      const { fingerprint, ...result } = r;
      out[family] = result;
      if (fingerprint !== undefined) applied.marks[family] = fingerprint;
    }
    // What the rules cannot hold, beside them: `state` and `publish` name the networks as here;
    // and what this apply left, for the next one.
    if (digest !== undefined && this.sameGeneration(applied)) this.applied = applied;
    await writeRecord(this.netns, state, this.applied);
    return out;
  }

  /**
   * nf_tables has one generation for the whole namespace: the families' marks say the same
   * thing only when nobody committed between them (each family's commit moved it by one at
   * most, from the mark before). Then every family's mark is the last one.
   */
  private sameGeneration(applied: AppliedMarks): boolean {
    if (this.backend !== 'nft') return true;
    const done = FAMILIES.filter((f) => applied.marks[f] !== undefined);
    const gen = (f: Family): number => Number(applied.marks[f]!.split(' ')[1]);
    for (let i = 1; i < done.length; i++) {
      const committed = (applied.result[done[i]!]?.changed.length ?? 0) > 0 ? 1 : 0;
      if (gen(done[i]!) - committed !== gen(done[i - 1]!)) return false;
    }
    const final = done.length > 0 ? applied.marks[done[done.length - 1]!]! : undefined;
    for (const f of done) applied.marks[f] = final!;
    return true;
  }

  /** Whether the Docker tables of every family the last apply committed hold what it left (counters aside). */
  private async unchangedSince(last: AppliedMarks): Promise<boolean> {
    for (const f of FAMILIES) {
      const mark = last.marks[f];
      if (mark !== undefined && (await this.nf[f].fingerprint(DOCKER_TABLES)) !== mark) return false;
    }
    return true;
  }

  /**
   * What apply would commit, per family, without committing (unchanged plans: nothing), each
   * table's plan with the table it was planned against (read once; a legacy table that does
   * not exist yet is not created by planning).
   */
  async plan(stateJson: unknown): Promise<Partial<Record<Family, DockerTablePlan[]>>> {
    const state = validateState(stateJson);
    const rs = desiredRules(state);
    const out: Partial<Record<Family, DockerTablePlan[]>> = {};
    for (const family of FAMILIES) {
      const fr = rs[family];
      if (fr.ownedChains.length + fr.builtinRules.length + fr.userChains.length === 0) continue;
      const current = await this.readDockerTables(family);
      out[family] = applyIntents(state, fr, family, current).map((intent) => {
        const table = current.find((t) => t.name === intent.table);
        return { ...planTable(table, intent), current: table };
      });
    }
    return out;
  }

  /**
   * The docker-nft state a port operation works on: the given one, or the one the host's
   * docker-bridges tables describe (with the record's names); undefined for an iptables host.
   */
  private async nftablerState(given: DockerState | undefined): Promise<DockerState | undefined> {
    if (given !== undefined) return given.layout === 'docker-nft' ? given : undefined;
    // None was there when last looked, and the ruleset has moved since only by this process's
    // own iptables commits (which make no docker-bridges table): none now either. One
    // NFT_MSG_GETGEN instead of a dump of each family's table at every port operation.
    const now = await Netfilter.rulesetMark(this.netns);
    if (now && this.noNftabler && Netfilter.onlyIptablesCommitsSince(this.noNftabler, now)) return undefined;
    const tables = await readNftabler(this.netns);
    this.noNftabler = !tables.ipv4 && !tables.ipv6 ? now : undefined;
    if (!tables.ipv4 && !tables.ipv6) return undefined;
    return inferNftabler(tables, mergeHints(await readRecord(this.netns), {}));
  }

  /** For a docker-nft state: what apply would do, as the nft commands that do it, per family (none: nothing). */
  async previewNftabler(stateJson: unknown): Promise<NftablerPreview[]> {
    const state = validateState(stateJson);
    if (state.layout !== 'docker-nft') throw new RangeError(`layout: ${JSON.stringify(state.layout)} is previewed by plan`);
    return previewNftabler(state, this.netns);
  }

  /** The Docker state the kernel's rules describe (see infer.ts for what rules cannot say). */
  async inferState(hints: InferHints = {}): Promise<DockerState> {
    // The caller's hints first, then the record of the last apply (record.ts).
    const merged = mergeHints(await readRecord(this.netns), hints);
    // Docker's nftables back end: its docker-bridges tables say the state.
    const nft = await readNftabler(this.netns);
    if (nft.ipv4 || nft.ipv6) return inferNftabler(nft, merged);
    return inferTables(await this.dockerRules(), merged).state;
  }

  /** Every finding about the host's Docker rules; bridges are read over rtnetlink. */
  async doctor(stateJson?: unknown): Promise<Finding[]> {
    const state = stateJson === undefined ? undefined : validateState(stateJson);
    // Docker's nftables back end: the state says so, or its docker-bridges tables are there.
    if (state === undefined || state.layout === 'docker-nft') {
      const tables = await readNftabler(this.netns);
      if (state !== undefined || tables.ipv4 || tables.ipv6) {
        return doctorNftabler(tables, { ...(state ? { state } : {}), bridges: await bridgeNames(this.netns) });
      }
    }
    const [rules, bridges] = await Promise.all([this.dockerRules(), bridgeNames(this.netns)]);
    const findings = doctorTables(rules, { ...(state ? { state } : {}), bridges });
    // Docker 28.0.0's rules match ipsets the tables do not hold: read them too.
    const sets = rules.filter((t) => readsIpset(t, state));
    if (sets.length === 0) return findings;
    const listed = await listIpsets(sets.map((t) => extBridgesSet(t.family)), this.netns);
    const more = sets.flatMap((t, i) => ipsetFindings(t, listed[i]!, state));
    return [...findings, ...more].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  }

  /** apply, with the findings before and after. */
  async repair(stateJson: unknown): Promise<DockerRepairResult> {
    const state = validateState(stateJson);
    const before = await this.doctor(state);
    const result = await this.apply(state);
    const after = await this.doctor(state);
    return { ...result, before, after };
  }

  /**
   * Publishes ports (DockerPort objects; `network` names a network or its bridge) in one
   * commit per family, adding only their rules. Ports already published are left alone; a
   * port whose host binding is taken by another container is refused (RangeError).
   */
  async publish(portsJson: readonly unknown[], options: { state?: unknown } = {}): Promise<DockerPublishResult> {
    const given = options.state === undefined ? undefined : validateState(options.state);
    const ports = portsJson.map((raw, i) => {
      if (!isObject(raw)) throw new TypeError(`ports[${i}]: ${JSON.stringify(raw)} is not an object`);
      return raw;
    });
    const nft = await this.nftablerState(given);
    if (nft) {
      const { result, changed, unchanged } = await publishNftabler(nft, ports, this.netns);
      return { ...result, changed, unchanged };
    }
    const families = FAMILIES.filter((f) => ports.some((p) => publishFamily(p) === f));
    // A legacy read creates the mangle table an SCTP port's checksum rule needs (classic), and
    // the raw table of a v28.0, v28.1, v28 or v29 state's direct-access DROPs.
    const extra: TableName[] = [];
    if (ports.some((p) => p['proto'] === 'sctp')) extra.push('mangle');
    if (given !== undefined && (hasDockerForward(given.layout) || given.layout === 'v28.0')) extra.push('raw');
    return this.portsOp(families, given, extra, (view, current) =>
      publishDelta(
        view,
        current,
        freshBindings(view, ports).filter((b) => b.family === view.family),
      ),
    );
  }

  /** Unpublishes ports (matched by proto and host port, and whatever else is given). */
  async unpublish(portsJson: readonly unknown[], options: { state?: unknown } = {}): Promise<DockerPublishResult> {
    const given = options.state === undefined ? undefined : validateState(options.state);
    const requests = portsJson.map(unpublishRequest);
    const nft = await this.nftablerState(given);
    if (nft) {
      const networks = requests.map((q, i) => {
        if (q.networkGiven === undefined) return undefined;
        const n = nft.networks.find((x) => x.name === q.networkGiven || x.bridge === q.networkGiven);
        if (!n) throw new RangeError(`ports[${i}].network: ${JSON.stringify(q.networkGiven)} is not a network of this host`);
        return n.name;
      });
      const { result, changed } = await unpublishNftabler(nft, requests, networks, this.netns);
      return { ...result, changed, unchanged: changed === 0 ? requests.length : 0 };
    }
    const pinned = requests.map(unpublishFamily);
    const families = pinned.every((f) => f !== undefined) ? FAMILIES.filter((f) => pinned.includes(f)) : [...FAMILIES];
    const r = await this.portsOp(families, given, [], (view, current) => {
      const networks = requests.map((q, i) => {
        if (q.networkGiven === undefined) return undefined;
        const n = view.state.networks.find((x) => x.name === q.networkGiven || x.bridge === q.networkGiven);
        if (!n) throw new RangeError(`ports[${i}].network: ${JSON.stringify(q.networkGiven)} is not a network of this host`);
        return n.name;
      });
      return unpublishDelta(view, current, requests, networks);
    });
    return { ...r, unchanged: r.changed === 0 ? requests.length : 0 };
  }

  /**
   * One port operation, one commit per family: each family's delta is computed from its
   * tables as read under the commit's guard (and computed again if a concurrent change forces
   * a re-read). The networks are those of all `families`' tables, the others' from a read
   * made first; the first family's delta also computes the others' on that read, so that a
   * request one of them refuses is refused before anything is committed, and a family that
   * has nothing to change is not committed to.
   */
  private async portsOp(
    families: readonly Family[],
    given: DockerState | undefined,
    extra: readonly TableName[],
    delta: (view: PortView, current: readonly Table[]) => PortDelta,
  ): Promise<DockerPublishResult> {
    const out: DockerPublishResult = { changed: 0, unchanged: 0 };
    if (families.length === 0) return out;
    const record = given === undefined ? await readRecord(this.netns) : undefined;
    const key = JSON.stringify(record ?? null);
    // Every family's tables name the networks, whichever families the operation commits to;
    // the ones not committed to first are read as kept where they still hold.
    const reads = new Map<Family, readonly Table[]>();
    for (const f of FAMILIES) if (f !== families[0]) reads.set(f, await this.readDockerTables(f, true));
    const otherFamilies = (f: Family): Family[] => FAMILIES.filter((g) => g !== f);
    const othersOf = (f: Family): Array<readonly Table[]> => otherFamilies(f).map((g) => reads.get(g)!);
    /** The view of `f` from `current`: the one kept for these very tables, or inferred. */
    const viewOf = (f: Family, current: readonly Table[]): PortView => {
      const others = othersOf(f);
      const seen = given === undefined ? this.views.get(current) : undefined;
      if (seen && seen.key === key && seen.others.length === others.length && seen.others.every((t, k) => t === others[k])) return seen.view;
      const view = portView(f, current, otherFamilies(f).map((g, k) => this.familyTables(g, others[k]!)), given, record);
      if (given === undefined) this.views.set(current, { key, others, view });
      return view;
    };
    /** The later families' deltas on their first read, from the first family's callback. */
    const dry = new Map<Family, PortDelta>();
    for (const [i, f] of families.entries()) {
      const before = dry.get(f);
      if (before && before.intents.length === 0 && before.changed === 0) {
        out.unchanged += before.unchanged;
        continue;
      }
      let d: PortDelta = { intents: [], changed: 0, unchanged: 0 };
      let others: Array<readonly Table[]> = [];
      let read: readonly Table[] = [];
      const tables = await this.existingTables(f, extra);
      const result = await this.nf[f].update(
        tables,
        (current) => {
          read = current;
          reads.set(f, current);
          others = othersOf(f);
          d = delta(viewOf(f, current), current);
          if (i === 0) {
            for (const g of families.slice(1)) dry.set(g, delta(viewOf(g, reads.get(g)!), reads.get(g)!));
          }
          return d.intents;
        },
        {
          reuse: true,
          kept: (after) => {
            if (given !== undefined || !d.after) return;
            this.views.set(after, { key, others, view: d.after });
            // A port operation changes no network, so the other families' views, made with this
            // family's tables as read, hold with them as committed.
            for (const g of FAMILIES) {
              const seen = g === f ? undefined : this.views.get(reads.get(g) ?? []);
              if (seen && seen.key === key) seen.others = seen.others.map((t) => (t === read ? after : t));
            }
          },
        },
      );
      if (d.intents.length > 0) out[f] = result;
      out.changed += d.changed;
      out.unchanged += d.unchanged;
    }
    return out;
  }
}
