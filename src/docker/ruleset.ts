// The shape of Docker's rules per address family (DockerRuleset), what classic.ts and v28.ts
// share to build them (one published port per host port, the exact iptables-save text of
// Docker's per-port rules), and the dispatch from a state's layout to its builder.
//
// A rule is its iptables-save argument text after `-A CHAIN `, exactly as iptables-save
// 1.8.9 prints it: `-s`, `-d`, `-i`, `-o`, `-p` first (each with its `!`), then the matches,
// then `-j`. Hosts get `/32` or `/128`; a wildcard `-d 0/0` is not printed.

import type { Family, TableName } from '../rules/model.js';
import { hostCidr, isIPv4Text, parseAddress, isUnspecified } from './address.js';
import type { DockerNetwork, DockerPort, DockerProto, DockerState } from './state.js';
import { hostIpOf, parsePortSpec, portFamily } from './state.js';

export interface DockerChainRules {
  table: TableName;
  chain: string;
  rules: string[];
}

export interface DockerBuiltinRules extends DockerChainRules {
  /** Docker inserts these above everything else (`-I`), or appends them (`-A`). */
  position: 'top' | 'bottom';
}

export interface DockerFamilyRuleset {
  /** Docker's own chains with their exact content; anything else in them is stale. */
  ownedChains: DockerChainRules[];
  /** Docker's rules inside built-in chains, in Docker's order; other rules there are not Docker's. */
  builtinRules: DockerBuiltinRules[];
  /** Chains Docker creates with these rules when missing but never rewrites (DOCKER-USER). */
  userChains: DockerChainRules[];
  /** The filter FORWARD policy Docker sets (desired.ts forwardDrop); absent: left as it is. */
  forwardPolicy?: 'DROP';
}

export interface DockerRuleset {
  layout: DockerState['layout'];
  ipv4: DockerFamilyRuleset;
  ipv6: DockerFamilyRuleset;
}

/** Docker's chain names (moby libnetwork/drivers/bridge). */
export const DOCKER_CHAIN = 'DOCKER';
export const DOCKER_USER_CHAIN = 'DOCKER-USER';
export const ISOLATION_STAGE_1 = 'DOCKER-ISOLATION-STAGE-1';
export const ISOLATION_STAGE_2 = 'DOCKER-ISOLATION-STAGE-2';
export const DOCKER_FORWARD_CHAIN = 'DOCKER-FORWARD';
export const DOCKER_BRIDGE_CHAIN = 'DOCKER-BRIDGE';
export const DOCKER_CT_CHAIN = 'DOCKER-CT';
export const DOCKER_INTERNAL_CHAIN = 'DOCKER-INTERNAL';

export function loopbackPrefix(family: Family): string {
  return family === 'ipv4' ? '127.0.0.0/8' : '::1/128';
}

/** One host port of a published port (ranges expanded, as Docker programs them). */
export interface PortBinding {
  network: string;
  proto: DockerProto;
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
  family: Family;
}

export function expandPorts(ports: readonly DockerPort[], family: Family): PortBinding[] {
  const out: PortBinding[] = [];
  for (const p of ports) {
    if (portFamily(p) !== family) continue;
    // A single port (a number in a validated state) needs no range object.
    const hostRange = typeof p.hostPort === 'number' ? undefined : parsePortSpec(p.hostPort)!;
    const hostFirst = hostRange ? hostRange.first : (p.hostPort as number);
    const contFirst = typeof p.containerPort === 'number' ? p.containerPort : parsePortSpec(p.containerPort)!.first;
    const count = hostRange ? hostRange.last - hostFirst + 1 : 1;
    for (let k = 0; k < count; k++) {
      out.push({
        network: p.network,
        proto: p.proto,
        hostIp: p.hostIp,
        hostPort: hostFirst + k,
        containerIp: p.containerIp,
        containerPort: contFirst + k,
        family,
      });
    }
  }
  return out;
}

/**
 * The first binding of each container port (address, protocol, port): the rules that name
 * only the container's side (hairpin MASQUERADE, the filter ACCEPT — a container address
 * belongs to one network, so to one bridge) are written once for it, as Docker's `-A`/`-I`
 * of an existing rule are no-ops. Keyed by numbers under the address, not by rule text:
 * hashing 10,000 freshly built rule strings cost more than building them.
 */
export function firstPerContainerPort(bindings: readonly PortBinding[]): PortBinding[] {
  // Most containers publish one port: a number per address, a set only for the others.
  const first = new Map<string, number>();
  const more = new Map<string, Set<number>>();
  const out: PortBinding[] = [];
  for (const b of bindings) {
    const key = DOCKER_PROTO_INDEX[b.proto] * 65536 + b.containerPort;
    const one = first.get(b.containerIp);
    if (one === undefined) first.set(b.containerIp, key);
    else {
      if (one === key) continue;
      let set = more.get(b.containerIp);
      if (!set) more.set(b.containerIp, (set = new Set([one])));
      if (set.has(key)) continue;
      set.add(key);
    }
    out.push(b);
  }
  return out;
}

const DOCKER_PROTO_INDEX: Record<DockerProto, number> = { tcp: 0, udp: 1, sctp: 2 };

export function isWildcardHost(ip: string): boolean {
  if (ip === '0.0.0.0' || ip === '::') return true;
  if (isIPv4Text(ip)) return false;
  const a = parseAddress(ip);
  return a !== undefined && isUnspecified(a);
}


export function dnatDestination(b: PortBinding): string {
  return b.family === 'ipv4' ? `${b.containerIp}:${b.containerPort}` : `[${b.containerIp}]:${b.containerPort}`;
}

/**
 * nat DOCKER: `-p P -d HOST --dport N -j DNAT --to-destination C:P [! -i BR] [! -s fe80::/10]`
 * as Docker passes it (the link-local exclusion is Docker 28's, IPv6 only).
 */
export function dnatRule(b: PortBinding, bridge: string, skipOwnBridge: boolean, excludeLinkLocal: boolean): string {
  const parts: string[] = [];
  if (excludeLinkLocal && b.family === 'ipv6') parts.push('! -s fe80::/10');
  if (!isWildcardHost(b.hostIp)) parts.push(`-d ${hostCidr(b.hostIp)}`);
  if (skipOwnBridge) parts.push(`! -i ${bridge}`);
  parts.push('-p', b.proto, '-m', b.proto, '--dport', String(b.hostPort), '-j DNAT --to-destination', dnatDestination(b));
  return parts.join(' ');
}

// The per-port rules are joined from arrays rather than written as template literals: a
// template makes a rope of several string objects per rule that all stay alive until the
// commit, where join makes one flat string; at 100,000 ports that is a third less memory and
// garbage-collection time (kernel-free replay of apply: 1.55 s -> 1.0 s CPU, 428 -> 360 MB).

/** nat POSTROUTING: a container reaching its own published port through the host. */
export function hairpinMasqueradeRule(b: PortBinding): string {
  const c = hostCidr(b.containerIp);
  return ['-s', c, '-d', c, '-p', b.proto, '-m', b.proto, '--dport', b.containerPort, '-j MASQUERADE'].join(' ');
}

/** The NAT target of a network's outgoing packets: MASQUERADE, or SNAT to its host address. */
export function natTarget(net: DockerNetwork, family: Family): string {
  const host = hostIpOf(net, family);
  return host === undefined ? 'MASQUERADE' : `SNAT --to-source ${host}`;
}

/** filter DOCKER: let the DNATed packets through to the container port. */
export function acceptPortRule(b: PortBinding, bridge: string): string {
  return ['-d', hostCidr(b.containerIp), '! -i', bridge, '-o', bridge, '-p', b.proto, '-m', b.proto, '--dport', b.containerPort, '-j ACCEPT'].join(' ');
}

/** mangle POSTROUTING: Docker's SCTP checksum workaround for old kernels. */
export function sctpChecksumRule(b: PortBinding): string {
  return ['-p', b.proto, '-m', b.proto, '--sport', b.containerPort, '-j CHECKSUM --checksum-fill'].join(' ');
}

export function natJumpRules(family: Family, userlandProxy: boolean): DockerBuiltinRules[] {
  return [
    { table: 'nat', chain: 'PREROUTING', position: 'bottom', rules: [`-m addrtype --dst-type LOCAL -j ${DOCKER_CHAIN}`] },
    {
      table: 'nat',
      chain: 'OUTPUT',
      position: 'bottom',
      // With the userland proxy, loopback traffic is left to docker-proxy, not DNATed.
      rules: [`${userlandProxy ? `! -d ${loopbackPrefix(family)} ` : ''}-m addrtype --dst-type LOCAL -j ${DOCKER_CHAIN}`],
    },
  ];
}

/** Keeps the first of equal strings: Docker's `-A`/`-I` are no-ops when the rule exists. */
export function unique(rules: readonly string[]): string[] {
  return [...new Set(rules)];
}

export function emptyFamilyRuleset(): DockerFamilyRuleset {
  return { ownedChains: [], builtinRules: [], userChains: [] };
}

/** Drops builtin entries with no rule, so consumers need not special-case them. */
export function compact(r: DockerFamilyRuleset): DockerFamilyRuleset {
  return { ...r, builtinRules: r.builtinRules.filter((b) => b.rules.length > 0) };
}

/** Every rule of a family ruleset as (table, chain, rule) in table/chain order of appearance. */
export function allRules(r: DockerFamilyRuleset): Array<{ table: TableName; chain: string; rule: string }> {
  const out: Array<{ table: TableName; chain: string; rule: string }> = [];
  for (const group of [...r.builtinRules, ...r.ownedChains, ...r.userChains]) {
    for (const rule of group.rules) out.push({ table: group.table, chain: group.chain, rule });
  }
  return out;
}

/**
 * Docker's rules of one built-in chain, as they sit in a chain holding nothing else: the
 * `top` groups in order, then the `bottom` groups in order.
 */
export function builtinChainRules(r: DockerFamilyRuleset, table: TableName, chain: string): string[] {
  const groups = r.builtinRules.filter((b) => b.table === table && b.chain === chain);
  return [
    ...groups.filter((g) => g.position === 'top').flatMap((g) => g.rules),
    ...groups.filter((g) => g.position === 'bottom').flatMap((g) => g.rules),
  ];
}

const BUILTINS: Record<string, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/**
 * The ruleset as iptables-save would print it on a host holding nothing but Docker's rules
 * (policies ACCEPT but the FORWARD policy Docker sets, no counters), one text per table that has any chain: for golden files,
 * restoring into a throwaway namespace, and feeding inferState/doctor in tests.
 */
export function toSaveText(r: DockerFamilyRuleset): Record<string, string> {
  const tables = new Set<string>();
  for (const g of [...r.ownedChains, ...r.builtinRules, ...r.userChains]) tables.add(g.table);
  const out: Record<string, string> = {};
  for (const table of ['raw', 'mangle', 'nat', 'filter']) {
    if (!tables.has(table)) continue;
    const userDefined = [...r.ownedChains, ...r.userChains].filter((c) => c.table === table);
    const lines = [`*${table}`];
    for (const b of BUILTINS[table]!) lines.push(`:${b} ${table === 'filter' && b === 'FORWARD' ? (r.forwardPolicy ?? 'ACCEPT') : 'ACCEPT'} [0:0]`);
    // iptables-save lists user-defined chains sorted by name (iptables inserts a new one in order).
    const names = [...new Set(userDefined.map((c) => c.chain))].sort();
    for (const n of names) lines.push(`:${n} - [0:0]`);
    for (const b of BUILTINS[table]!) {
      for (const rule of builtinChainRules(r, table as TableName, b)) lines.push(`-A ${b} ${rule}`);
    }
    for (const n of names) {
      for (const c of userDefined.filter((x) => x.chain === n)) for (const rule of c.rules) lines.push(`-A ${n} ${rule}`);
    }
    lines.push('COMMIT');
    out[table] = lines.join('\n') + '\n';
  }
  return out;
}
