// Layout "docker-nft": the tables of Docker 29's nftables back end (`firewall-backend:
// nftables`), `table ip docker-bridges` and `table ip6 docker-bridges`, as object-layer
// descriptions (src/nft/objects.ts). Learnt from moby/moby docker-v29.7.2 (commit
// 6a43e3d5afddf4111da0f864bbc7cae5d7e95001) daemon/libnetwork/drivers/bridge/internal/nftabler/
// {nftabler,network,endpoint,port}.go and its TestNftabler golden files.
//
// How Docker builds the table: its nftables layer keeps each chain's rules in numbered groups
// (a new rule goes to the end of its group, a rule already in the group is an error unless
// marked IgnoreExist) and writes a chain as its groups in order. The table's own objects are
// made when the daemon starts, in name order (its templates range over Go maps); each network's
// four chains when the network is made, so the oldest network's chains come first. Every rule
// Docker writes counts (`counter`) except the verdict-map jumps.

import type { Family } from '../rules/model.js';
import type { NftChain, NftExpr, NftRule, NftTable } from '../nft/objects.js';
import { NftPriority } from '../nft/objects.js';
import {
  addr,
  counter,
  ctEstablished,
  dnat,
  fibTypeLocal,
  ifname,
  ifnameNotIn,
  ipProtocolIcmp,
  jump,
  l4protoIcmpv6,
  masq,
  metaMark,
  port,
  snat,
  verdict,
  vmap,
} from '../nft/exprs.js';
import { isLoopback, isUnspecified, parseAddress } from './address.js';
import { writesFamily } from './desired.js';
import { expandPorts, firstPerContainerPort, type PortBinding } from './ruleset.js';
import type { DockerNetwork, DockerState } from './state.js';
import { gatewayModeOf, hostIpOf, subnetFor } from './state.js';

/** The table Docker's nftabler owns in each family. */
export const DOCKER_NFT_TABLE = 'docker-bridges';

/** The table's own chains and verdict maps (nftabler.go's names); infer and doctor read them by these. */
const FORWARD_CHAIN = 'filter-FORWARD';
const POSTROUTING_CHAIN = 'nat-POSTROUTING';
const PREROUTING_CHAIN = 'nat-PREROUTING';
export const OUTPUT_CHAIN = 'nat-OUTPUT';
export const NAT_CHAIN = 'nat-prerouting-and-output';
export const RAW_PREROUTING_CHAIN = 'raw-PREROUTING';
export const FWD_IN_VMAP = 'filter-forward-in-jumps';
const FWD_OUT_VMAP = 'filter-forward-out-jumps';
const POSTRT_IN_VMAP = 'nat-postrouting-in-jumps';
const POSTRT_OUT_VMAP = 'nat-postrouting-out-jumps';
/** The four verdict maps, one element per bridge each. */
export const VMAPS: readonly string[] = [FWD_IN_VMAP, FWD_OUT_VMAP, POSTRT_IN_VMAP, POSTRT_OUT_VMAP];

/** A network's four chains (network.go chainFilterFwdIn, …). */
export const fwdInChain = (bridge: string): string => `filter-forward-in__${bridge}`;
export const fwdOutChain = (bridge: string): string => `filter-forward-out__${bridge}`;
export const postrtInChain = (bridge: string): string => `nat-postrouting-in__${bridge}`;
export const postrtOutChain = (bridge: string): string => `nat-postrouting-out__${bridge}`;

const nftFamily = (family: Family): 'ip' | 'ip6' => (family === 'ipv4' ? 'ip' : 'ip6');
const rule = (exprs: NftExpr[], comment?: string): NftRule => (comment === undefined ? { exprs } : { exprs, comment });

/**
 * bridge-accept-fwmark as network.go nftFwMark writes it: the mark alone, or `and MASK == MARK`
 * (from the state's canonical `0xMARK[/0xMASK]`).
 */
function fwMarkExprs(canonical: string): NftExpr[] {
  const [mark, mask] = canonical.split('/');
  return metaMark(parseInt(mark!, 16), mask === undefined ? 0xffffffff : parseInt(mask, 16));
}

/** `masquerade` or `snat to HOST` and its comment word (network.go: the host address turns MASQUERADE into SNAT). */
function natVerdict(net: DockerNetwork, family: Family): { exprs: NftExpr[]; comment: string } {
  const host = hostIpOf(net, family);
  return host === undefined ? { exprs: [masq], comment: 'MASQUERADE' } : { exprs: snat(host), comment: 'SNAT' };
}

/** The rules of one chain, deduplicated as Docker's rule groups do (IgnoreExist, or a second Create that the caller never makes). */
class RuleList {
  private readonly seen = new Set<string>();
  readonly rules: NftRule[] = [];
  add(r: NftRule): void {
    const key = JSON.stringify(r);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.rules.push(r);
  }
}

/** The daemon's table before any network (nftabler.go init): maps and base chains in name order. */
function skeleton(state: DockerState, family: Family): { table: NftTable; chains: Map<string, NftChain> } {
  const fam = nftFamily(family);
  // Without the userland proxy (hairpin) nat-OUTPUT also DNATs packets to loopback addresses.
  const skipLoopback = state.userlandProxy ? addr('daddr', family === 'ipv4' ? '127.0.0.0/8' : '::1', 'neq') : [];
  const chains: NftChain[] = [
    { name: FORWARD_CHAIN, type: 'filter', hook: 'forward', priority: NftPriority.filter, policy: 'accept',
      rules: [rule(vmap('oifname', FWD_IN_VMAP)), rule(vmap('iifname', FWD_OUT_VMAP))] },
    { name: OUTPUT_CHAIN, type: 'nat', hook: 'output', priority: NftPriority.dstnat, policy: 'accept',
      rules: [rule([...skipLoopback, ...fibTypeLocal('daddr'), counter, jump(NAT_CHAIN)])] },
    { name: POSTROUTING_CHAIN, type: 'nat', hook: 'postrouting', priority: NftPriority.srcnat, policy: 'accept',
      rules: [rule(vmap('iifname', POSTRT_OUT_VMAP)), rule(vmap('oifname', POSTRT_IN_VMAP))] },
    { name: PREROUTING_CHAIN, type: 'nat', hook: 'prerouting', priority: NftPriority.dstnat, policy: 'accept',
      rules: [rule([...fibTypeLocal('daddr'), counter, jump(NAT_CHAIN)])] },
    { name: NAT_CHAIN, rules: [] },
    { name: RAW_PREROUTING_CHAIN, type: 'filter', hook: 'prerouting', priority: NftPriority.raw, policy: 'accept', rules: [] },
  ];
  const table: NftTable = {
    family: fam,
    name: DOCKER_NFT_TABLE,
    sets: VMAPS.map((name) => ({ name, type: 'ifname', map: 'verdict', elements: [] })),
    chains,
  };
  return { table, chains: new Map(chains.map((c) => [c.name, c])) };
}

/** One network's chains (network.go configure); the per-port rules are added by the caller. */
function networkChains(state: DockerState, net: DockerNetwork, family: Family): { fwdIn: RuleList[]; fwdOut: NftRule[]; postrtIn: RuleList; postrtOut: NftRule[] } {
  const br = net.bridge;
  const mode = gatewayModeOf(net, family);
  const iccVerdict = verdict(net.icc ? 'accept' : 'drop');
  // filter-forward-in's rule groups: initial, fwmark, legacy links, ICC, ports, final.
  const fwdIn = [new RuleList(), new RuleList(), new RuleList(), new RuleList(), new RuleList(), new RuleList()] as const;
  const fwdOut: NftRule[] = [rule([...ctEstablished, counter, verdict('accept')])];
  const postrtIn = new RuleList();
  const postrtOut: NftRule[] = [];
  fwdIn[0].add(rule([...ctEstablished, counter, verdict('accept')]));
  if (net.internal) {
    fwdIn[0].add(rule([...ifname('iifname', br, 'neq'), counter, verdict('drop')], 'INTERNAL NETWORK INGRESS'));
    fwdOut.push(rule([...ifname('oifname', br, 'neq'), counter, verdict('drop')], 'INTERNAL NETWORK EGRESS'));
    fwdIn[3].add(rule([counter, iccVerdict], 'ICC'));
    return { fwdIn: [...fwdIn], fwdOut, postrtIn, postrtOut };
  }
  if (state.acceptFwMark !== undefined) fwdIn[1].add(rule([...fwMarkExprs(state.acceptFwMark), counter, verdict('accept')], 'ALLOW FW MARK'));
  fwdIn[3].add(rule([...ifname('iifname', br), counter, iccVerdict], 'ICC'));
  fwdOut.push(rule([counter, verdict('accept')], 'OUTGOING'));
  fwdIn[5].add(
    mode === 'nat-unprotected' ? rule([counter, verdict('accept')], 'UNPROTECTED') : rule([counter, verdict('drop')], 'UNPUBLISHED PORT DROP'),
  );
  if (mode === 'routed') fwdIn[0].add(rule([...(family === 'ipv4' ? ipProtocolIcmp : l4protoIcmpv6), counter, verdict('accept')], 'ICMP'));
  const nat = natVerdict(net, family);
  if (net.masquerade && mode !== 'routed') {
    postrtOut.push(rule([...ifname('oifname', br, 'neq'), ...addr('saddr', subnetFor(net, family)!), counter, ...nat.exprs], nat.comment));
  }
  if (!state.userlandProxy) postrtIn.add(rule([...fibTypeLocal('saddr'), counter, ...nat.exprs], `${nat.comment} FROM HOST`));
  return { fwdIn: [...fwdIn], fwdOut, postrtIn, postrtOut };
}

/** raw-PREROUTING's drop of packets routed straight to a container (endpoint.go filterDirectAccess). */
function directAccessRule(state: DockerState, net: DockerNetwork, family: Family, ip: string): NftRule | undefined {
  const mode = gatewayModeOf(net, family);
  if (net.internal || mode === 'nat-unprotected' || mode === 'routed' || state.allowDirectRouting === true) return undefined;
  // Docker writes `iifname != { BR, IF… }`: trusted host interfaces reach the container as the
  // bridge does; nft makes a one-element set a plain comparison.
  const trusted = net.trustedHostInterfaces ?? [];
  if (trusted.length === 0) return rule([...addr('daddr', ip), ...ifname('iifname', net.bridge, 'neq'), counter, verdict('drop')], 'DROP DIRECT ACCESS');
  return {
    exprs: [...addr('daddr', ip), ...ifnameNotIn('iifname', '__set0'), counter, verdict('drop')],
    anonymousSets: [{ type: 'ifname', elements: [net.bridge, ...trusted].map((key) => ({ key })) }],
    comment: 'DROP DIRECT ACCESS',
  };
}

/** raw-PREROUTING's drop of remote packets for a port published on 127.0.0.0/8 (port.go filterPortMappedOnLoopback; IPv4 only). */
function loopbackDropRule(b: PortBinding): NftRule {
  return rule([...ifname('iifname', 'lo', 'neq'), ...addr('daddr', b.hostIp), ...port(b.proto, 'dport', b.hostPort), counter, verdict('drop')], 'DROP REMOTE LOOPBACK');
}

/** nat-prerouting-and-output's DNAT of one binding (port.go setPerPortDNAT). */
function dnatRule(state: DockerState, b: PortBinding, bridge: string): NftRule {
  const host = parseAddress(b.hostIp)!;
  return rule(
    [
      // With the userland proxy, a container's packets to its own published port go to docker-proxy.
      ...(state.userlandProxy ? ifname('iifname', bridge, 'neq') : []),
      ...(b.family === 'ipv6' ? addr('saddr', 'fe80::/10', 'neq') : []),
      ...(isUnspecified(host) ? [] : addr('daddr', b.hostIp)),
      ...port(b.proto, 'dport', b.hostPort),
      counter,
      ...dnat(b.containerIp, b.containerPort),
    ],
    'DNAT',
  );
}

/** The `docker-bridges` table of one family as Docker 29's nftabler writes it for the state. */
export function nftablerTable(state: DockerState, family: Family): NftTable {
  const { table, chains } = skeleton(state, family);
  const nets = state.networks.filter((n) => subnetFor(n, family) !== undefined);
  const netOf = new Map(nets.map((n) => [n.name, n]));
  const bindings = expandPorts(state.ports, family).filter((b) => netOf.has(b.network) && !netOf.get(b.network)!.internal);
  const perNet = new Map(nets.map((n) => [n.name, networkChains(state, n, family)]));

  for (const b of bindings) {
    const net = netOf.get(b.network)!;
    const own = perNet.get(net.name)!;
    if (gatewayModeOf(net, family) !== 'nat-unprotected') {
      own.fwdIn[4]!.add(rule([...addr('daddr', b.containerIp), ...port(b.proto, 'dport', b.containerPort), counter, verdict('accept')]));
    }
    chains.get(NAT_CHAIN)!.rules!.push(dnatRule(state, b, net.bridge));
  }
  if (!state.userlandProxy) {
    // A container reaching its own published port through the host: Docker's rule text is the
    // container side only, so a second host port of one container port writes nothing more.
    for (const b of firstPerContainerPort(bindings)) {
      perNet.get(b.network)!.postrtIn.add(
        rule([...addr('saddr', b.containerIp), ...addr('daddr', b.containerIp), ...port(b.proto, 'dport', b.containerPort), counter, masq], 'MASQ TO OWN PORT'),
      );
    }
  }

  // raw-PREROUTING: each container's direct-access drop when its endpoint joins (state.endpoints
  // order, then addresses first seen in ports), followed by the loopback drops of its ports.
  const raw = new RuleList();
  const order: Array<{ ip: string; network: string }> = [];
  const seen = new Set<string>();
  for (const e of state.endpoints ?? []) {
    if (parseAddress(e.ip)?.family !== family || seen.has(e.ip) || !netOf.has(e.network)) continue;
    seen.add(e.ip);
    order.push(e);
  }
  for (const b of bindings) {
    if (seen.has(b.containerIp)) continue;
    seen.add(b.containerIp);
    order.push({ ip: b.containerIp, network: b.network });
  }
  for (const { ip, network } of order) {
    const net = netOf.get(network)!;
    const drop = directAccessRule(state, net, family, ip);
    if (drop) raw.add(drop);
    if (family !== 'ipv4') continue;
    for (const b of bindings) if (b.containerIp === ip && isLoopback(parseAddress(b.hostIp)!)) raw.add(loopbackDropRule(b));
  }
  chains.get(RAW_PREROUTING_CHAIN)!.rules = raw.rules;

  // Each network's chains and map elements, oldest network (last in the state) first.
  for (const net of [...nets].reverse()) {
    const own = perNet.get(net.name)!;
    const br = net.bridge;
    table.chains!.push(
      { name: fwdInChain(br), rules: own.fwdIn.flatMap((g) => g.rules) },
      { name: fwdOutChain(br), rules: own.fwdOut },
      { name: postrtInChain(br), rules: own.postrtIn.rules },
      { name: postrtOutChain(br), rules: own.postrtOut },
    );
    const element = (map: string, chain: string): void => {
      table.sets!.find((s) => s.name === map)!.elements!.push({ key: br, verdict: 'jump', chain });
    };
    element(FWD_IN_VMAP, fwdInChain(br));
    element(FWD_OUT_VMAP, fwdOutChain(br));
    element(POSTRT_IN_VMAP, postrtInChain(br));
    element(POSTRT_OUT_VMAP, postrtOutChain(br));
  }
  return table;
}

/** Docker's tables for the state: one per family Docker enables (`iptables`/`ip6tables`, else a network of that family). */
export function nftablerTables(state: DockerState): Array<{ family: Family; table: NftTable }> {
  return (['ipv4', 'ipv6'] as const).filter((f) => writesFamily(state, f)).map((family) => ({ family, table: nftablerTable(state, family) }));
}
