// doctor: what is wrong with a host's Docker rules, read from its iptables-save texts (issue 4):
// a missing Docker chain (the seed article's `iptables: No chain/target/match by that name`),
// a missing jump, a DNAT without its filter ACCEPT or hairpin MASQUERADE or the reverse,
// duplicate rules, rules for a bridge the host does not have, and any difference from a given
// state. Pure: it reads texts and returns findings; repairing is someone else's job.

import type { Family } from '../rules/model.js';
import { parseArgs, pos, neg, type RuleArgs } from './args.js';
import { readSaves, rulesOf, type FamilySaves, type FamilyTables } from './saves.js';
import { gatewayModeOf, subnetFor, type DockerState } from './state.js';
import { parseAddress, parsePrefix, prefixContains, type Prefix } from './address.js';
import { desiredRules, writesFamily } from './desired.js';
import { extBridgesMembers, extBridgesSet, v280ForwardJumps } from './v280.js';
import type { ListedIpset } from './ipset.js';
import {
  DOCKER_BRIDGE_CHAIN,
  DOCKER_CHAIN,
  DOCKER_CT_CHAIN,
  DOCKER_FORWARD_CHAIN,
  DOCKER_INTERNAL_CHAIN,
  DOCKER_USER_CHAIN,
  ISOLATION_STAGE_1,
  ISOLATION_STAGE_2,
  builtinChainRules,
  type DockerFamilyRuleset,
} from './ruleset.js';
import { isDockerOwnedChain, isDockerRule, layoutOfTables, trustedInterfacesIn } from './recognise.js';

export type Severity = 'error' | 'warning';

export type FindingCode =
  | 'missing-chain'
  | 'missing-jump'
  | 'misplaced-jump'
  | 'dnat-without-accept'
  | 'accept-without-dnat'
  | 'missing-hairpin'
  | 'hairpin-without-dnat'
  | 'duplicate-rule'
  | 'unknown-bridge'
  | 'differs-from-state'
  | 'missing-set'
  | 'missing-set-member'
  | 'stale-set-member';

export interface Finding {
  severity: Severity;
  code: FindingCode;
  family: Family;
  table: string;
  chain: string;
  /** The rule concerned, as iptables-save prints it after `-A CHAIN `. */
  rule?: string;
  message: string;
}

export interface DoctorOptions {
  /** The state the host should be in; adds `differs-from-state` findings. */
  state?: DockerState;
  /** The host's bridge interfaces (`ip -o link show type bridge`); adds `unknown-bridge`. */
  bridges?: string[];
}

const BUILTIN: Record<string, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

const cmd = (f: Family): string => (f === 'ipv4' ? 'iptables' : 'ip6tables');

type IptablesLayout = 'classic' | 'v28.0' | 'v28.1' | 'v28' | 'v29';

/** The chains each generation always has (Docker 29 deleted the isolation chains on purpose). */
function expectedChains(layout: IptablesLayout): Array<{ table: string; chain: string }> {
  const filter = [DOCKER_CHAIN, DOCKER_USER_CHAIN];
  if (layout !== 'v29') filter.push(ISOLATION_STAGE_1, ISOLATION_STAGE_2);
  if (layout !== 'classic' && layout !== 'v28.0') filter.push(DOCKER_FORWARD_CHAIN, DOCKER_BRIDGE_CHAIN, DOCKER_CT_CHAIN);
  if (layout === 'v29') filter.push(DOCKER_INTERNAL_CHAIN);
  return [{ table: 'nat', chain: DOCKER_CHAIN }, ...filter.map((chain) => ({ table: 'filter', chain }))];
}

interface Dnat {
  rule: string;
  proto: string;
  containerIp: string;
  containerPort: string;
  hostPort: string;
  bridge?: string;
}

function stripHost(cidr: string): string {
  return cidr.replace(/\/(32|128)$/, '');
}

function dnatOf(rule: string, r: RuleArgs): Dnat | undefined {
  const to = pos(r, '--to-destination');
  const proto = pos(r, '-p');
  const dport = pos(r, '--dport');
  if (r.target !== 'DNAT' || !to || !proto || !dport) return undefined;
  const m = /^\[?([0-9a-fA-F.:]+?)\]?:(\d+)$/.exec(to);
  if (!m) return undefined;
  const bridge = neg(r, '-i');
  return { rule, proto, containerIp: m[1]!, containerPort: m[2]!, hostPort: dport, ...(bridge !== undefined ? { bridge } : {}) };
}

/** `ip|proto|port` of a per-port filter ACCEPT or hairpin MASQUERADE, or of a DNAT's target. */
const portKey = (ip: string, proto: string, port: string): string => `${ip}|${proto}|${port}`;

function familyFindings(t: FamilyTables, opts: DoctorOptions, desired: DockerFamilyRuleset | undefined): Finding[] {
  const out: Finding[] = [];
  const f = t.family;
  const add = (x: Omit<Finding, 'family'>): void => {
    out.push({ family: f, ...x });
  };
  const has = (table: string): boolean => t.tables.has(table);
  const chainExists = (table: string, chain: string): boolean => t.tables.get(table)?.has(chain) ?? false;
  // Bridges of Docker's: the state's, and every interface Docker's own chains name, so that
  // networks with a chosen bridge name (not br-<id>) are recognised in built-in chains too.
  const stateBridges = new Set(opts.state?.networks.flatMap((n) => [n.bridge, ...(n.trustedHostInterfaces ?? [])]) ?? []);
  for (const [table, chains] of t.tables) {
    for (const c of chains.values()) {
      if (!isDockerOwnedChain(table, c.name)) continue;
      for (const rule of c.rules) {
        const r = parseArgs(rule);
        for (const opt of ['-i', '-o']) {
          const name = r.opts.get(opt)?.value;
          if (name !== undefined && name !== 'lo' && name !== 'loopback0') stateBridges.add(name);
        }
      }
    }
  }

  for (const i of trustedInterfacesIn(rulesOf(t, 'raw', 'PREROUTING'), stateBridges)) stateBridges.add(i);
  // A family is looked at when the state wants Docker rules there or Docker left some there.
  const dockerPresent =
    (desired !== undefined && desired.ownedChains.length + desired.builtinRules.length > 0) ||
    [...t.tables.entries()].some(([table, chains]) =>
      [...chains.values()].some(
        (c) => isDockerOwnedChain(table, c.name) || c.rules.some((r) => isDockerRule(f, table, c.name, r, stateBridges)),
      ),
    );
  if (!dockerPresent) return out;

  // The state's layout, else the generation the host's own chains show.
  const layout: IptablesLayout = opts.state !== undefined && opts.state.layout !== 'docker-nft' ? opts.state.layout : layoutOfTables(t);

  // Missing chains.
  const missing = new Set<string>();
  for (const { table, chain } of expectedChains(layout)) {
    if (!has(table) || chainExists(table, chain)) continue;
    missing.add(`${table}/${chain}`);
    add({
      severity: 'error',
      code: 'missing-chain',
      table,
      chain,
      message:
        `chain ${chain} is missing from the ${table} table: Docker's next \`${cmd(f)} -t ${table} -A ${chain} …\` ` +
        'fails with "iptables: No chain/target/match by that name" and the container does not start; ' +
        'recreate the chain and its rules (iptkit docker repair, or restart dockerd)',
    });
  }

  // Missing or misplaced jumps into Docker's chains.
  const jump = (table: string, from: string, to: string, test: (r: RuleArgs) => boolean, why: string): void => {
    if (!has(table) || missing.has(`${table}/${to}`) || !chainExists(table, from)) return;
    if (rulesOf(t, table, from).map(parseArgs).some(test)) return;
    add({ severity: 'error', code: 'missing-jump', table, chain: from, message: `${table} ${from} has no jump to ${to}: ${why}` });
  };
  const plainJump = (to: string) => (r: RuleArgs) => r.target === to && r.opts.size === 0 && r.matches.length === 0;
  // Classic adds the nat jumps and FORWARD's jump to the isolation chain with a network of the
  // family: on a family without one (the IPv6 tables of an IPv4-only host with ip6tables on)
  // they are missing by design. A network's own rules show it: FORWARD's per-bridge rules, a
  // MASQUERADE, a DNAT, an internal network's DROP.
  const ownNetwork =
    layout !== 'classic' ||
    (opts.state !== undefined
      ? opts.state.networks.some((n) => subnetFor(n, f) !== undefined)
      : rulesOf(t, 'filter', 'FORWARD').some((r) => /^-[io] \S+ /.test(r) && isDockerRule(f, 'filter', 'FORWARD', r, stateBridges)) ||
        rulesOf(t, 'nat', DOCKER_CHAIN).length > 0 ||
        rulesOf(t, 'nat', 'POSTROUTING').some((r) => r.includes('-o ') && isDockerRule(f, 'nat', 'POSTROUTING', r, stateBridges)) ||
        rulesOf(t, 'filter', ISOLATION_STAGE_1).some((r) => r.endsWith('-j DROP')));
  if (ownNetwork) {
    jump('nat', 'PREROUTING', DOCKER_CHAIN, (r) => r.target === DOCKER_CHAIN && pos(r, '--dst-type') === 'LOCAL', 'published ports are not reachable from outside');
    jump('nat', 'OUTPUT', DOCKER_CHAIN, (r) => r.target === DOCKER_CHAIN && pos(r, '--dst-type') === 'LOCAL', 'published ports are not reachable from the host itself');
  }
  jump('filter', 'FORWARD', DOCKER_USER_CHAIN, plainJump(DOCKER_USER_CHAIN), 'the rules in DOCKER-USER are not applied');
  if (layout === 'classic') {
    if (ownNetwork) jump('filter', 'FORWARD', ISOLATION_STAGE_1, plainJump(ISOLATION_STAGE_1), 'networks are not isolated from each other');
  } else if (layout === 'v28.0') {
    // Docker 28.0.0 jumps from FORWARD itself, to DOCKER and ACCEPT only for its ipset's bridges.
    const [, established, , toDocker] = v280ForwardJumps(f);
    const forward = rulesOf(t, 'filter', 'FORWARD');
    jump('filter', 'FORWARD', ISOLATION_STAGE_1, plainJump(ISOLATION_STAGE_1), 'networks are not isolated from each other');
    jump('filter', 'FORWARD', DOCKER_CHAIN, () => forward.includes(toDocker!), 'published ports are not accepted');
    jump('filter', 'FORWARD', 'ACCEPT', () => forward.includes(established!), 'replies to containers are not accepted');
  } else {
    jump('filter', 'FORWARD', DOCKER_FORWARD_CHAIN, plainJump(DOCKER_FORWARD_CHAIN), "none of Docker's forwarding rules apply");
    jump('filter', DOCKER_FORWARD_CHAIN, DOCKER_CT_CHAIN, plainJump(DOCKER_CT_CHAIN), 'replies to containers are not accepted');
    if (layout === 'v28' || layout === 'v28.1') {
      jump('filter', DOCKER_FORWARD_CHAIN, ISOLATION_STAGE_1, plainJump(ISOLATION_STAGE_1), 'networks are not isolated from each other');
    } else {
      jump('filter', DOCKER_FORWARD_CHAIN, DOCKER_INTERNAL_CHAIN, plainJump(DOCKER_INTERNAL_CHAIN), 'internal networks are not cut off from the outside');
    }
    jump('filter', DOCKER_FORWARD_CHAIN, DOCKER_BRIDGE_CHAIN, plainJump(DOCKER_BRIDGE_CHAIN), 'published ports are not accepted');
  }
  if (has('filter') && chainExists('filter', DOCKER_USER_CHAIN)) {
    const forward = rulesOf(t, 'filter', 'FORWARD');
    const at = forward.findIndex((r) => r === `-j ${DOCKER_USER_CHAIN}`);
    if (at > 0) {
      add({
        severity: 'warning',
        code: 'misplaced-jump',
        table: 'filter',
        chain: 'FORWARD',
        rule: forward[at]!,
        message: `the jump to DOCKER-USER is rule ${at + 1} of FORWARD, not the first: the ${at} rule(s) above it bypass DOCKER-USER`,
      });
    }
  }

  // Per-port consistency: DNAT ↔ filter ACCEPT ↔ hairpin MASQUERADE.
  const userlandProxy =
    opts.state?.userlandProxy ??
    !rulesOf(t, 'nat', 'OUTPUT').some((r) => /^-m addrtype --dst-type LOCAL -j DOCKER$/.test(r));
  const dnats = rulesOf(t, 'nat', DOCKER_CHAIN)
    .map((r) => dnatOf(r, parseArgs(r)))
    .filter((d): d is Dnat => d !== undefined);
  const accepts = new Map<string, string>();
  for (const rule of rulesOf(t, 'filter', DOCKER_CHAIN)) {
    const r = parseArgs(rule);
    const d = pos(r, '-d');
    const p = pos(r, '-p');
    const dport = pos(r, '--dport');
    if (r.target === 'ACCEPT' && d && p && dport && pos(r, '-o')) accepts.set(portKey(stripHost(d), p, dport), rule);
  }
  const hairpins = new Map<string, string>();
  for (const rule of rulesOf(t, 'nat', 'POSTROUTING')) {
    const r = parseArgs(rule);
    const s = pos(r, '-s');
    const d = pos(r, '-d');
    const p = pos(r, '-p');
    const dport = pos(r, '--dport');
    if (r.target === 'MASQUERADE' && s && s === d && p && dport) hairpins.set(portKey(stripHost(d), p, dport), rule);
  }
  const dnatTargets = new Set(dnats.map((d) => portKey(d.containerIp, d.proto, d.containerPort)));
  const hairpinExpected = layout === 'classic' || !userlandProxy;
  const open = unprotectedNetworks(t, opts.state);
  for (const d of dnats) {
    const key = portKey(d.containerIp, d.proto, d.containerPort);
    if (has('filter') && chainExists('filter', DOCKER_CHAIN) && !accepts.has(key) && !open(d)) {
      add({
        severity: 'error',
        code: 'dnat-without-accept',
        table: 'nat',
        chain: DOCKER_CHAIN,
        rule: d.rule,
        message: `${d.proto} port ${d.hostPort} is DNATed to ${d.containerIp}:${d.containerPort}, but filter DOCKER has no ACCEPT for it: the forwarded packets are dropped`,
      });
    }
    if (hairpinExpected && !hairpins.has(key)) {
      add({
        severity: 'warning',
        code: 'missing-hairpin',
        table: 'nat',
        chain: 'POSTROUTING',
        rule: d.rule,
        message: `no MASQUERADE for ${d.containerIp} reaching its own ${d.proto} port ${d.containerPort}: the container cannot reach itself through the published port ${d.hostPort}`,
      });
    }
  }
  if (has('nat') && chainExists('nat', DOCKER_CHAIN)) {
    for (const [key, rule] of accepts) {
      if (dnatTargets.has(key)) continue;
      add({
        severity: 'warning',
        code: 'accept-without-dnat',
        table: 'filter',
        chain: DOCKER_CHAIN,
        rule,
        message: `filter DOCKER accepts ${key.split('|').join(' ')} but no DNAT leads there: a stale rule of a removed container (and an open path to whatever now has that address)`,
      });
    }
    for (const [key, rule] of hairpins) {
      if (dnatTargets.has(key)) continue;
      add({
        severity: 'warning',
        code: 'hairpin-without-dnat',
        table: 'nat',
        chain: 'POSTROUTING',
        rule,
        message: `hairpin MASQUERADE for ${key.split('|').join(' ')} without a DNAT: a stale rule of a removed container`,
      });
    }
  }

  // Duplicates, and bridges the host does not have, in Docker's chains and Docker's rules.
  const hostBridges = opts.bridges === undefined ? undefined : new Set(opts.bridges);
  // A trusted host interface is any interface of the host's, not a bridge.
  const trustedInterfaces = new Set([
    ...(opts.state?.networks.flatMap((n) => n.trustedHostInterfaces ?? []) ?? []),
    ...trustedInterfacesIn(rulesOf(t, 'raw', 'PREROUTING'), stateBridges),
  ]);
  for (const [table, chains] of t.tables) {
    for (const c of chains.values()) {
      const owned = isDockerOwnedChain(table, c.name);
      const builtin = BUILTIN[table]?.includes(c.name) ?? false;
      if (!owned && !builtin) continue;
      const count = new Map<string, number>();
      for (const rule of c.rules) {
        if (!owned && !isDockerRule(f, table, c.name, rule, stateBridges)) continue;
        count.set(rule, (count.get(rule) ?? 0) + 1);
        if (count.get(rule) === 2) {
          add({
            severity: 'warning',
            code: 'duplicate-rule',
            table,
            chain: c.name,
            rule,
            message: `${table} ${c.name} holds this rule more than once; Docker deletes one copy per removal, so a copy outlives its container`,
          });
        }
        if (hostBridges !== undefined && count.get(rule) === 1) {
          const r = parseArgs(rule);
          for (const opt of ['-i', '-o']) {
            const name = r.opts.get(opt)?.value;
            if (name === undefined || name === 'lo' || name === 'loopback0' || hostBridges.has(name) || trustedInterfaces.has(name)) continue;
            add({
              severity: 'warning',
              code: 'unknown-bridge',
              table,
              chain: c.name,
              rule,
              message: `rule for bridge ${name}, which does not exist on the host: left behind by a removed network`,
            });
            break;
          }
        }
      }
    }
  }

  if (desired) out.push(...stateFindings(t, desired, stateBridges, missing));
  return out;
}

/**
 * Whether a DNAT leads into a nat-unprotected network (Docker 28+), whose default rule in filter
 * DOCKER accepts everything, so that its ports have no ACCEPT of their own: the network is the
 * state's, else one with `! -i BR -o BR -j ACCEPT`; the DNAT names its bridge (`! -i`, the
 * userland proxy's form) or its container address is in the network's subnet.
 */
function unprotectedNetworks(t: FamilyTables, state: DockerState | undefined): (d: Dnat) => boolean {
  const nets: Array<{ bridge: string; subnet?: Prefix }> = [];
  /** Without a state: the subnet each bridge's NAT rule shows. */
  const subnets = new Map<string, Prefix>();
  if (state !== undefined) {
    for (const n of state.networks) {
      if (gatewayModeOf(n, t.family) !== 'nat-unprotected') continue;
      const s = subnetFor(n, t.family);
      nets.push({ bridge: n.bridge, ...(s !== undefined ? { subnet: parsePrefix(s)! } : {}) });
    }
  } else {
    const bridges = new Set<string>();
    for (const rule of rulesOf(t, 'filter', DOCKER_CHAIN)) {
      const m = /^! -i (\S+) -o \1 -j ACCEPT$/.exec(rule);
      if (m) bridges.add(m[1]!);
    }
    for (const rule of rulesOf(t, 'nat', 'POSTROUTING')) {
      const r = parseArgs(rule);
      const o = neg(r, '-o');
      const src = pos(r, '-s');
      if (o !== undefined && src !== undefined && parsePrefix(src)) subnets.set(o, parsePrefix(src)!);
    }
    for (const bridge of bridges) nets.push({ bridge, ...(subnets.has(bridge) ? { subnet: subnets.get(bridge)! } : {}) });
  }
  if (nets.length === 0) return () => false;
  // Without a state, a network without NAT shows no subnet: a DNAT that names no bridge and
  // leads into no subnet the rules show may be such a network's, and is not called an error.
  const unknownSubnet = state === undefined && nets.some((n) => n.subnet === undefined);
  return (d) => {
    const a = parseAddress(d.containerIp);
    if (nets.some((n) => n.bridge === d.bridge || (a !== undefined && n.subnet !== undefined && prefixContains(n.subnet, a)))) return true;
    return unknownSubnet && d.bridge === undefined && (a === undefined || ![...subnets.values()].some((p) => prefixContains(p, a)));
  };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

function compareChain(
  f: Family,
  table: string,
  chain: string,
  want: readonly string[],
  got: readonly string[],
  out: Finding[],
): void {
  const wantSet = new Set(want);
  const gotSet = new Set(got);
  for (const rule of want) {
    if (gotSet.has(rule)) continue;
    out.push({ severity: 'error', code: 'differs-from-state', family: f, table, chain, rule, message: `missing: the state needs this rule in ${table} ${chain}` });
  }
  for (const rule of new Set(got)) {
    if (wantSet.has(rule)) continue;
    out.push({ severity: 'warning', code: 'differs-from-state', family: f, table, chain, rule, message: `not in the state: Docker's rule in ${table} ${chain} for something the state does not have` });
  }
  const unique = [...new Set(got)];
  if (sameSet(want, unique) && want.join('\n') !== unique.join('\n')) {
    out.push({ severity: 'warning', code: 'differs-from-state', family: f, table, chain, message: `${table} ${chain} holds the state's rules in another order than Docker's` });
  }
}

function stateFindings(t: FamilyTables, desired: DockerFamilyRuleset, bridges: ReadonlySet<string>, missing: Set<string>): Finding[] {
  const out: Finding[] = [];
  const f = t.family;
  const tableOf = (table: string) => t.tables.get(table);
  for (const c of desired.ownedChains) {
    const table = tableOf(c.table);
    if (!table) continue;
    const actual = table.get(c.chain);
    if (!actual) {
      if (!missing.has(`${c.table}/${c.chain}`)) {
        out.push({ severity: 'error', code: 'missing-chain', family: f, table: c.table, chain: c.chain, message: `chain ${c.chain} of the state is missing from the ${c.table} table` });
      }
      continue;
    }
    compareChain(f, c.table, c.chain, c.rules, actual.rules, out);
  }
  for (const c of desired.userChains) {
    const table = tableOf(c.table);
    if (table && !table.has(c.chain) && !missing.has(`${c.table}/${c.chain}`)) {
      out.push({ severity: 'error', code: 'missing-chain', family: f, table: c.table, chain: c.chain, message: `chain ${c.chain} is missing from the ${c.table} table` });
    }
  }
  // Docker's FORWARD policy DROP gone: Docker's own rules still decide what they must, so
  // nothing of Docker's breaks, but the host forwards what they leave undecided (between
  // other interfaces; classic: to containers' unpublished ports, from a routed neighbour).
  const policy = tableOf('filter')?.get('FORWARD')?.policy;
  if (desired.forwardPolicy !== undefined && policy !== undefined && policy !== desired.forwardPolicy) {
    out.push({
      severity: 'warning',
      code: 'differs-from-state',
      family: f,
      table: 'filter',
      chain: 'FORWARD',
      message: `the FORWARD policy is ${policy}, but the state's daemon sets ${desired.forwardPolicy} (ipForwardNoDrop is off)`,
    });
  }
  // Docker chains the state's layout does not have (a v28 chain on a classic host, say).
  for (const [tableName, table] of t.tables) {
    for (const c of table.values()) {
      if (!isDockerOwnedChain(tableName, c.name)) continue;
      if (desired.ownedChains.some((o) => o.table === tableName && o.chain === c.name)) continue;
      out.push({ severity: 'warning', code: 'differs-from-state', family: f, table: tableName, chain: c.name, message: `chain ${c.name} is Docker's but not part of the state's layout` });
    }
  }
  for (const [tableName, builtins] of Object.entries(BUILTIN)) {
    const table = tableOf(tableName);
    if (!table) continue;
    for (const chain of builtins) {
      const want = builtinChainRules(desired, tableName as 'filter', chain);
      const got = (table.get(chain)?.rules ?? []).filter((r) => isDockerRule(f, tableName, chain, r, bridges));
      if (want.length === 0 && got.length === 0) continue;
      compareChain(f, tableName, chain, want, got, out);
    }
  }
  return out;
}

/** Every finding about the Docker rules in `saves`, errors first, in a stable order. */
export function doctor(saves: readonly FamilySaves[], opts: DoctorOptions = {}): Finding[] {
  return doctorTables(readSaves(saves), opts);
}

/** doctor of tables already split into rules (read from the kernel: saves.ts tablesOf). */
export function doctorTables(tables: readonly FamilyTables[], opts: DoctorOptions = {}): Finding[] {
  const desired = opts.state && opts.state.layout !== 'docker-nft' ? desiredRules(opts.state) : undefined;
  const findings = tables.flatMap((t) => familyFindings(t, opts, desired?.[t.family]));
  const rank = (s: Severity): number => (s === 'error' ? 0 : 1);
  return findings.map((x, i) => ({ x, i })).sort((a, b) => rank(a.x.severity) - rank(b.x.severity) || a.i - b.i).map(({ x }) => x);
}

/** One line: `no problems found`, or counts by severity and by code. */
export function summary(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'no problems found';
  const errors = findings.filter((x) => x.severity === 'error').length;
  const warnings = findings.length - errors;
  const byCode = new Map<string, number>();
  for (const x of findings) byCode.set(x.code, (byCode.get(x.code) ?? 0) + 1);
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const codes = [...byCode.entries()].map(([c, n]) => `${c} ×${n}`).join(', ');
  return `${plural(errors, 'error')}, ${plural(warnings, 'warning')}: ${codes}`;
}

/**
 * Whether doctor reads a family's ipset: Docker 28.0.0's layout (the state's, else the one the
 * tables show) where its rules are, or the state wants them.
 */
export function readsIpset(t: FamilyTables, state?: DockerState): boolean {
  if (state !== undefined) return state.layout === 'v28.0' && writesFamily(state, t.family);
  return layoutOfTables(t) === 'v28.0';
}

/**
 * Docker 28.0.0's ipset of a family (`listed`, null when there is none) against the subnets
 * FORWARD's set matches must see: the state's non-internal networks', or without a state the
 * subnets the NAT rules show (a routed network's shows in no rule, so no member is missed or
 * called stale on a guess). A missing subnet is an error: FORWARD neither sends its published
 * ports to DOCKER nor accepts replies to its containers, and the policy drops them.
 */
export function ipsetFindings(t: FamilyTables, listed: ListedIpset | null, state?: DockerState): Finding[] {
  const f = t.family;
  const name = extBridgesSet(f);
  const [, , , toDocker] = v280ForwardJumps(f);
  const at = { family: f, table: 'filter', chain: 'FORWARD', rule: toDocker! };
  const family = f === 'ipv4' ? 'inet' : 'inet6';
  if (listed === null || listed.type !== 'hash:net' || listed.family !== family) {
    const what = listed === null ? 'does not exist' : `is ${listed.type} family ${listed.family}, not hash:net family ${family}`;
    return [{ severity: 'error', code: 'missing-set', ...at, message: `ipset ${name} ${what}: FORWARD's rules for Docker's bridges cannot match it (iptkit docker repair)` }];
  }
  let want: string[];
  if (state !== undefined) want = extBridgesMembers(state, f);
  else {
    // The external networks' bridges: each has its default rule in filter DOCKER.
    const external = new Set<string>();
    for (const rule of rulesOf(t, 'filter', DOCKER_CHAIN)) {
      const m = /^! -i (\S+) -o \1 -j (?:DROP|ACCEPT)$/.exec(rule);
      if (m) external.add(m[1]!);
    }
    const shown = new Set<string>();
    for (const rule of rulesOf(t, 'nat', 'POSTROUTING')) {
      const m = /^-s (\S+) ! -o (\S+) -j (?:MASQUERADE|SNAT --to-source \S+)$/.exec(rule);
      if (m && parsePrefix(m[1]!) && external.has(m[2]!)) shown.add(m[1]!);
    }
    want = [...shown];
  }
  const have = new Set(listed.members);
  const out: Finding[] = [];
  for (const subnet of want) {
    if (have.has(subnet)) continue;
    out.push({
      severity: 'error',
      code: 'missing-set-member',
      ...at,
      message: `ipset ${name} lacks ${subnet}: packets to that network's published ports and replies to its containers are not let through FORWARD`,
    });
  }
  if (state !== undefined) {
    const wanted = new Set(want);
    for (const member of listed.members) {
      if (wanted.has(member)) continue;
      out.push({
        severity: 'warning',
        code: 'stale-set-member',
        ...at,
        message: `ipset ${name} holds ${member}, which is no external network of the state's: replies to whatever uses it are accepted, new packets sent to DOCKER`,
      });
    }
  }
  return out;
}
