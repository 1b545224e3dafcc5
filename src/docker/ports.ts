// publish and unpublish on a live host: the rules of the ports that change, and only those,
// planned from one read of a family's tables (the one the commit is guarded by). Nothing here
// builds or diffs the rules of the ports that stay: on a host with 10,000 published ports,
// publishing one port builds its three rules, reads the kernel's DNATs for the ports already
// there (one regular-expression test per rule, infer.ts), and looks the three texts up in
// their chains. Rules are canonical text on both sides (the texts ruleset.ts writes are what
// iptables-save prints), so a rule of the kernel is Docker's rule exactly when the texts are
// equal.
//
// Where Docker puts a port's rules, and so where they go here:
// - nat DOCKER: the DNAT is appended (`-A`); every binding has its own.
// - filter DOCKER: the ACCEPT is appended (classic) or inserted at the top (v28.0, v28.1, v28, v29: so the newest
//   port is first); ports of one container address and port share it.
// - nat POSTROUTING: the hairpin MASQUERADE is appended (classic; v28 and v29 in hairpin mode only);
//   shared like the ACCEPT.
// - mangle POSTROUTING (classic): the SCTP checksum rule is appended; shared by container port.
// - raw PREROUTING (v28, v29): a container's direct-access DROP, then the loopback DROPs of its
//   ports published on 127.0.0.0/8. A new container's go at the end; a new loopback DROP of a
//   container already there goes right after that container's rules. v28.0 and v28.1 (Docker
//   28.0.0 to 28.1.x): each binding appends its loopback DROP, then its container port's direct-access DROP.
// A rule of a removed port goes only when no port that stays puts the same rule there (and,
// for a direct-access DROP, when the state given does not list the address as an endpoint).
// A shared rule that stays keeps its place and its counters, even where Docker's model would
// now list it later (it lists a shared rule where its first port puts it).

import { ownedPositions, type ChainIntent, type TableIntent } from '../plan/plan.js';
import { runSteps } from '../turn.js';
import type { Family, Table, TableName } from '../rules/model.js';
import { isLoopback, isUnspecified, parseAddress } from './address.js';
import { inferTables, type InferHints } from './infer.js';
import { tablesOf, type FamilyTables } from './saves.js';
import {
  DOCKER_CHAIN,
  acceptPortRule,
  dnatRule,
  hairpinMasqueradeRule,
  sctpChecksumRule,
  type PortBinding,
} from './ruleset.js';
import { directAccessRules, loopbackDropRule } from './v28.js';
import { v280DirectDrop, v280LoopbackDrop, v280RawRulesOf } from './v280.js';
import { gatewayModeOf, hasDockerForward, isIptablerLayout, type DockerNetwork, type DockerState } from './state.js';

/** What the port operations know of a host: its networks and layout, and a family's ports. */
export interface PortView {
  family: Family;
  /** Networks, layout and userlandProxy the rules are written for; its ports are not used. */
  state: DockerState;
  /** The ports published in this family's tables, one host port each, in nat DOCKER order. */
  bindings: PortBinding[];
  /** Bridges some family's tables have Docker rules for. */
  onHost: ReadonlySet<string>;
}

/**
 * The view of `family` from its tables as read (`current`), with `others` (the other family's
 * tables, for the networks they know). With `given` (a state file), the networks, layout and
 * userlandProxy are the state's and the ports those of the kernel on the state's networks;
 * without, the networks are the inferred ones, named and completed by `record`.
 */
export function portView(family: Family, current: readonly Table[], others: readonly FamilyTables[], given?: DockerState, record?: InferHints): PortView {
  const mine = tablesOf(family, current);
  const tables = family === 'ipv4' ? [mine, ...others] : [...others, mine];
  // Without a state file, the record of the applied state (record.ts) names the networks.
  const hints: InferHints = given ? { networks: given.networks.map((n) => ({ ...n })) } : (record ?? {});
  const inferred = inferTables(tables, hints, { endpoints: false, ports: false });
  const onHost = new Set(inferred.state.networks.map((n) => n.bridge));
  const bindings = inferred.bindings.filter((b) => b.family === family);
  if (!given) return { family, state: inferred.state, bindings, onHost };
  // The kernel's ports on the state's networks, named as the state names them (by bridge).
  const rename = new Map<string, string | undefined>();
  const byBridge = new Map(given.networks.map((n) => [n.bridge, n.name]));
  let same = true;
  for (const n of inferred.state.networks) {
    const to = byBridge.get(n.bridge);
    rename.set(n.name, to);
    if (to !== n.name) same = false;
  }
  const ported = same
    ? bindings
    : bindings.flatMap((b) => {
        const to = rename.get(b.network);
        return to === undefined ? [] : [{ ...b, network: to }];
      });
  return { family, state: { ...given, ports: [] }, bindings: ported, onHost };
}

/** What one family's commit holds, and how many host ports it changes. */
export interface PortDelta {
  intents: TableIntent[];
  changed: number;
  unchanged: number;
  /**
   * The view once the commit is made, when it changes ports: what portView would infer from
   * the tables as committed (the bindings added at the end, or the removed ones gone), derived
   * without reading them.
   */
  after?: PortView;
}

/** A chain holding one rule per port (or per group of ports that share it). */
interface PortChain {
  table: TableName;
  chain: string;
  /** Docker's own chain, which must exist; otherwise a built-in chain. */
  own: boolean;
  /** Where Docker puts a new rule: appended, or inserted at the top (newest first). */
  position: 'top' | 'bottom';
  /** The rule a binding puts in this chain, if any. */
  rule: (b: PortBinding) => string | undefined;
  /** Two bindings can put the same rule here only if their keys are equal. */
  key: (b: PortBinding) => string | number;
}

/** Whether the layout's raw direct-access DROPs are per published port (Docker 28.0.0 to 28.1.x). */
function perPortRaw(layout: DockerState['layout']): boolean {
  return layout === 'v28.0' || layout === 'v28.1';
}

function portChains(view: PortView): PortChain[] {
  const { state } = view;
  const hairpin = !state.userlandProxy;
  // Docker 28 and 29 (the iptabler), and 28.0.0 to 28.1.x before it: ACCEPTs inserted, hairpin
  // MASQUERADE only in hairpin mode, IPv6 DNAT skips link-local sources, no SCTP checksum rule.
  const iptabler = hasDockerForward(state.layout) || state.layout === 'v28.0';
  const netOf = new Map(state.networks.map((n) => [n.name, n]));
  const bridge = (b: PortBinding): string => netOf.get(b.network)!.bridge;
  const byIp = (b: PortBinding): string => b.containerIp;
  // A nat-unprotected network (Docker 28+) accepts everything: its ports have no ACCEPT.
  const accepted = (b: PortBinding): boolean => !iptabler || gatewayModeOf(netOf.get(b.network)!, view.family) !== 'nat-unprotected';
  const chains: PortChain[] = [
    { table: 'nat', chain: DOCKER_CHAIN, own: true, position: 'bottom', rule: (b) => dnatRule(b, bridge(b), !hairpin, iptabler), key: byIp },
    {
      table: 'filter',
      chain: DOCKER_CHAIN,
      own: true,
      position: iptabler ? 'top' : 'bottom',
      rule: (b) => (accepted(b) ? acceptPortRule(b, bridge(b)) : undefined),
      key: byIp,
    },
  ];
  if (!iptabler || hairpin) chains.push({ table: 'nat', chain: 'POSTROUTING', own: false, position: 'bottom', rule: hairpinMasqueradeRule, key: byIp });
  if (!iptabler) {
    chains.push({
      table: 'mangle',
      chain: 'POSTROUTING',
      own: false,
      position: 'bottom',
      rule: (b) => (b.proto === 'sctp' ? sctpChecksumRule(b) : undefined),
      key: (b) => b.containerPort,
    });
  }
  return chains;
}

/**
 * v28's raw PREROUTING rules of each of `ips` (in that order, addresses of bindings of the
 * view's family): its direct-access DROP, then the loopback DROPs of its ports.
 */
function rawGroups(view: PortView, ips: readonly string[], bindings: readonly PortBinding[]): string[][] {
  const of = new Map(ips.map((ip): [string, PortBinding[]] => [ip, []]));
  for (const b of bindings) of.get(b.containerIp)?.push(b);
  const netOf = new Map(view.state.networks.map((n) => [n.name, n]));
  const out: string[][] = [];
  for (const [ip, list] of of) {
    const net = netOf.get(list[0]!.network);
    if (net === undefined) continue;
    const group = directAccessRules(view.state, net, view.family, ip);
    // 127.0.0.0/8 only: the IPv6 loopback address is not routable, Docker skips it.
    for (const b of list) if (view.family === 'ipv4' && isLoopback(parseAddress(b.hostIp)!)) group.push(loopbackDropRule(b));
    if (group.length > 0) out.push([...new Set(group)]);
  }
  return out;
}

function chainOf(current: readonly Table[], table: string, chain: string): readonly string[] | undefined {
  return current.find((t) => t.name === table)?.chains.find((c) => c.name === chain)?.rules;
}

function missingChain(c: { table: string; chain: string }, family: Family): RangeError {
  return new RangeError(
    `chain ${c.chain} is missing from the ${c.table} table (${family}): repair the host first (iptkit docker repair STATE.json)`,
  );
}

/** The texts of `wanted` that `rules` does not hold, in wanted's order (found as the planner finds owned rules). */
function absent(rules: readonly string[], wanted: readonly string[]): string[] {
  const found = new Set(runSteps(ownedPositions(rules, new Set(wanted))).map((i) => rules[i]!));
  return wanted.filter((t) => !found.has(t));
}

function byTable(intents: Array<{ table: string; intent: ChainIntent }>): TableIntent[] {
  const out = new Map<string, ChainIntent[]>();
  for (const { table, intent } of intents) {
    let l = out.get(table);
    if (!l) out.set(table, (l = []));
    l.push(intent);
  }
  return [...out.entries()].map(([table, chains]) => ({ table, chains }));
}

function sameBinding(x: PortBinding, y: PortBinding): boolean {
  return (
    x.proto === y.proto &&
    x.hostIp === y.hostIp &&
    x.hostPort === y.hostPort &&
    x.network === y.network &&
    x.containerIp === y.containerIp &&
    x.containerPort === y.containerPort
  );
}

/**
 * Publishing `fresh` (validated bindings of the view's family): the ones already there are
 * unchanged; one that takes a host address and port another container has is refused
 * (RangeError); the others' rules are added where Docker puts them.
 */
export function publishDelta(view: PortView, current: readonly Table[], fresh: readonly PortBinding[]): PortDelta {
  // The kernel's bindings a new binding may meet: the ones on its host ports.
  const ports = new Set(fresh.map((b) => b.hostPort));
  const near = view.bindings.filter((b) => ports.has(b.hostPort));
  const add: PortBinding[] = [];
  let unchanged = 0;
  for (const b of fresh) {
    if (near.some((e) => sameBinding(e, b))) {
      unchanged++;
      continue;
    }
    const wild = isUnspecified(parseAddress(b.hostIp)!);
    for (const e of near) {
      if (e.hostPort !== b.hostPort || e.proto !== b.proto) continue;
      if (wild || e.hostIp === b.hostIp || isUnspecified(parseAddress(e.hostIp)!)) {
        throw new RangeError(
          `${b.proto} ${b.hostIp}:${b.hostPort} overlaps the published port ${e.proto} ${e.hostIp}:${e.hostPort} of ${e.containerIp}:${e.containerPort} (network ${e.network})`,
        );
      }
    }
    add.push(b);
  }
  if (add.length === 0) return { intents: [], changed: 0, unchanged };

  const intents: Array<{ table: string; intent: ChainIntent }> = [];
  for (const c of portChains(view)) {
    const texts = [...new Set(add.map(c.rule).filter((t): t is string => t !== undefined))];
    if (texts.length === 0) continue;
    const rules = chainOf(current, c.table, c.chain);
    if (!rules && c.own) throw missingChain(c, view.family);
    const fresh = absent(rules ?? [], texts);
    if (fresh.length === 0) continue;
    intents.push({
      table: c.table,
      intent: {
        chain: c.chain,
        mode: 'owned',
        owns: new Set(fresh),
        blocks: [{ position: c.position, rules: c.position === 'top' ? fresh.reverse() : fresh }],
      },
    });
  }
  if (perPortRaw(view.state.layout)) {
    // Docker 28.0.0 to 28.1.x append each binding's loopback and direct-access DROPs in turn.
    const netOf = new Map(view.state.networks.map((n) => [n.name, n]));
    const texts = [...new Set(add.flatMap((b) => v280RawRulesOf(b, netOf.get(b.network)!)))];
    const fresh = absent(chainOf(current, 'raw', 'PREROUTING') ?? [], texts);
    if (fresh.length > 0) {
      intents.push({ table: 'raw', intent: { chain: 'PREROUTING', mode: 'owned', owns: new Set(fresh), blocks: [{ position: 'bottom', rules: fresh }] } });
    }
  } else if (isIptablerLayout(view.state.layout)) {
    // Per new container address: its rules as a block, anchored on those already there.
    const rules = chainOf(current, 'raw', 'PREROUTING') ?? [];
    const ips = [...new Set(add.map((b) => b.containerIp))];
    const groups = rawGroups(view, ips, [...view.bindings, ...add]);
    if (absent(rules, groups.flat()).length > 0) {
      intents.push({
        table: 'raw',
        intent: {
          chain: 'PREROUTING',
          mode: 'owned',
          owns: new Set(groups.flat()),
          blocks: groups.map((rules) => ({ position: 'bottom' as const, rules })),
        },
      });
    }
  }
  // A binding given twice is published once, and read back once.
  const once = add.filter((b, i) => add.findIndex((x) => sameBinding(x, b)) === i);
  return { intents: byTable(intents), changed: add.length, unchanged, after: { ...view, bindings: [...view.bindings, ...once] } };
}

/** A port to unpublish, checked (its network is resolved against a view: see unpublishDelta). */
export interface UnpublishMatch {
  proto: PortBinding['proto'];
  first: number;
  last: number;
  /** Canonical. */
  hostIp?: string;
  containerIp?: string;
  containerFirst?: number;
  network?: string;
}

/** Whether an unpublish request (its network resolved to a name by the caller) matches a binding. */
export function unpublishMatches(m: UnpublishMatch, network: string | undefined, b: PortBinding): boolean {
  if (b.proto !== m.proto || b.hostPort < m.first || b.hostPort > m.last) return false;
  if (m.hostIp !== undefined && b.hostIp !== m.hostIp) {
    // Either wildcard of a family means that family's wildcard binding.
    const want = parseAddress(m.hostIp)!;
    if (!isUnspecified(want) || want.family !== b.family || !isUnspecified(parseAddress(b.hostIp)!)) return false;
  }
  if (m.containerIp !== undefined && b.containerIp !== m.containerIp) return false;
  if (m.containerFirst !== undefined && b.containerPort !== m.containerFirst + (b.hostPort - m.first)) return false;
  return network === undefined || b.network === network;
}

/**
 * Unpublishing: the view's bindings that any of `match` matches (`networks[i]`: the name of
 * the network match `i` names, resolved by the caller) lose the rules no remaining port shares.
 */
export function unpublishDelta(
  view: PortView,
  current: readonly Table[],
  match: readonly UnpublishMatch[],
  networks: readonly (string | undefined)[],
): PortDelta {
  const removed: PortBinding[] = [];
  const gone = new Uint8Array(view.bindings.length);
  view.bindings.forEach((b, i) => {
    if (match.some((m, k) => unpublishMatches(m, networks[k], b))) {
      removed.push(b);
      gone[i] = 1;
    }
  });
  if (removed.length === 0) return { intents: [], changed: 0, unchanged: 0 };
  /** The bindings that stay and may share a rule with a removed one. */
  const staying = (key: (b: PortBinding) => string | number): PortBinding[] => {
    const keys = new Set(removed.map(key));
    return view.bindings.filter((b, i) => gone[i] === 0 && keys.has(key(b)));
  };

  const chains = portChains(view);
  if (perPortRaw(view.state.layout)) {
    // Docker 28.0.0 to 28.1.x's per-binding raw DROPs: the loopback one, and the direct-access one of
    // the container port (shared by the bindings of that address and port).
    const netOf = new Map(view.state.networks.map((n): [string, DockerNetwork] => [n.name, n]));
    chains.push(
      { table: 'raw', chain: 'PREROUTING', own: false, position: 'bottom', rule: v280LoopbackDrop, key: (b) => b.containerIp },
      { table: 'raw', chain: 'PREROUTING', own: false, position: 'bottom', rule: (b) => v280DirectDrop(b, netOf.get(b.network)!), key: (b) => b.containerIp },
    );
  } else if (isIptablerLayout(view.state.layout)) {
    const byIp = (b: PortBinding): string => b.containerIp;
    const endpoints = new Set((view.state.endpoints ?? []).map((e) => e.ip));
    const bridgeOf = new Map(view.state.networks.map((n): [string, DockerNetwork] => [n.name, n]));
    // A container address's direct-access rules, one chain entry per rule it may have. An
    // address the state lists as an endpoint keeps them all (its container stays).
    const directAccess = (pick: (rules: readonly string[]) => string | undefined): PortChain => ({
      table: 'raw',
      chain: 'PREROUTING',
      own: false,
      position: 'bottom',
      rule: (b) =>
        endpoints.has(b.containerIp) ? undefined : pick(directAccessRules(view.state, bridgeOf.get(b.network)!, view.family, b.containerIp)),
      key: byIp,
    });
    const trusted = Math.max(0, ...view.state.networks.map((n) => n.trustedHostInterfaces?.length ?? 0));
    chains.push(
      // The DROP, last of them; then the k-th trusted interface's ACCEPT of each network.
      directAccess((rules) => rules[rules.length - 1]),
      ...Array.from({ length: trusted }, (_, k) => directAccess((rules) => (k < rules.length - 1 ? rules[k] : undefined))),
      {
        table: 'raw',
        chain: 'PREROUTING',
        own: false,
        position: 'bottom',
        rule: (b) => (view.family === 'ipv4' && isLoopback(parseAddress(b.hostIp)!) ? loopbackDropRule(b) : undefined),
        key: byIp,
      },
    );
  }
  const intents: Array<{ table: string; intent: ChainIntent }> = [];
  const raw = new Set<string>();
  for (const c of chains) {
    const texts = new Set(removed.map(c.rule).filter((t): t is string => t !== undefined));
    if (texts.size === 0) continue;
    for (const b of staying(c.key)) {
      const t = c.rule(b);
      if (t !== undefined) texts.delete(t);
    }
    if (texts.size === 0 || !chainOf(current, c.table, c.chain)) continue;
    if (c.table === 'raw') {
      for (const t of texts) raw.add(t);
      continue;
    }
    intents.push({ table: c.table, intent: { chain: c.chain, mode: 'owned', owns: texts, blocks: [] } });
  }
  if (raw.size > 0) intents.push({ table: 'raw', intent: { chain: 'PREROUTING', mode: 'owned', owns: raw, blocks: [] } });
  return {
    intents: byTable(intents),
    changed: removed.length,
    unchanged: 0,
    after: { ...view, bindings: view.bindings.filter((_, i) => gone[i] === 0) },
  };
}
