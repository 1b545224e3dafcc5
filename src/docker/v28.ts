// Layouts "v28" and "v29": the iptables rules of Docker's iptabler, Docker 28 (28.2 to 28.5)
// and Docker 29 (29.0 to 29.7). Learnt from moby/moby v28.5.2
// libnetwork/drivers/bridge/internal/iptabler/{iptabler,network,port,endpoint}.go,
// libnetwork/firewall_linux.go and the iptabler testdata/*.golden files, and from
// docker-v29.7.2 (commit 6a43e3d5afddf4111da0f864bbc7cae5d7e95001) daemon/libnetwork/... at
// the same paths; the iptabler is unchanged from docker-v29.0.0 to docker-v29.7.2.
//
// What v28 changed from classic: filter FORWARD holds only `-j DOCKER-USER` and
// `-j DOCKER-FORWARD`; DOCKER-FORWARD jumps to DOCKER-CT, DOCKER-ISOLATION-STAGE-1,
// DOCKER-BRIDGE and then holds the per-network accept/icc rules (appended, so oldest network
// first); filter DOCKER ends with a per-network default DROP and gets its per-port ACCEPTs
// inserted at the top (newest port first); no RETURN at the end of the isolation chains or
// DOCKER-USER; the per-port hairpin MASQUERADE only in hairpin mode; IPv6 DNAT skips link-local
// sources; raw PREROUTING drops packets addressed straight to a container from outside its
// bridge, and packets from outside for a port published on 127.0.0.0/8. The SCTP checksum rule
// needs DOCKER_IPTABLES_SCTP_CHECKSUM=1 in 28 and is not written.
//
// What v29 changed from v28 (network.go, iptabler.go): the inter-network isolation chains
// DOCKER-ISOLATION-STAGE-1/2 are gone (Docker 29 deletes them on start; filter DOCKER's
// per-network DROP isolates instead); an internal network's two DROPs are inserted into the new
// DOCKER-INTERNAL, which DOCKER-FORWARD jumps to in the isolation chain's place; with the
// userland proxy there is no nat `-A DOCKER -i BRIDGE -j RETURN`; the SCTP checksum rule is
// gone from the code.
//
// Gateway modes, per family (network.go, port.go, endpoint.go; the TestIptabler gwm= and snat=
// goldens): `routed` writes no subnet MASQUERADE (the nat RETURN of v28's userland proxy still
// follows `masquerade`), appends `-o BRIDGE -p icmp -j ACCEPT` to filter DOCKER before the
// network's default DROP, and in v28 inserts `-i BRIDGE -m conntrack --ctstate
// RELATED,ESTABLISHED -j ACCEPT` and `-o BRIDGE -j RETURN` at the top of
// DOCKER-ISOLATION-STAGE-1; `nat-unprotected` makes the default rule ACCEPT and writes no
// per-port ACCEPT; both write no raw direct-access DROP (the loopback DROPs stay). A port's DNAT
// is the same in every mode: the iptabler writes one for every binding with a host port (the
// bridge driver gives a routed family's bindings none; iptkit writes what the iptabler writes
// for the binding it is given). `isolated` is an internal network's and changes no rule. The
// SNAT host address turns the subnet and hairpin-LOCAL MASQUERADEs into `-j SNAT --to-source
// ADDRESS`.
//
// A network's trusted host interfaces put `-d EP -i IF -j ACCEPT` before each of its
// containers' direct-access DROP; the daemon's allow-direct-routing leaves both out
// (endpoint.go). Docker 29's bridge-accept-fwmark inserts `-m mark --mark M -j ACCEPT` at the
// top of DOCKER-FORWARD with each external network (network.go).

import type { Family } from '../rules/model.js';
import { mapSteps, pausesAt, runSteps, type Steps } from '../turn.js';
import { isLoopback, parseAddress, hostCidr } from './address.js';
import type { DockerNetwork, DockerState, GatewayMode } from './state.js';
import { gatewayModeOf, subnetFor } from './state.js';
import { internalDropRules } from './classic.js';
import { v280RawRules } from './v280.js';
import {
  DOCKER_BRIDGE_CHAIN,
  DOCKER_CHAIN,
  DOCKER_CT_CHAIN,
  DOCKER_FORWARD_CHAIN,
  DOCKER_INTERNAL_CHAIN,
  DOCKER_USER_CHAIN,
  ISOLATION_STAGE_1,
  ISOLATION_STAGE_2,
  acceptPortRule,
  compact,
  dnatRule,
  expandPorts,
  firstPerContainerPort,
  hairpinMasqueradeRule,
  natJumpRules,
  natTarget,
  unique,
  type DockerFamilyRuleset,
  type PortBinding,
} from './ruleset.js';

/** raw PREROUTING: the direct-access DROP for one container address. */
export function directAccessDropRule(ip: string, bridge: string): string {
  return `-d ${hostCidr(ip)} ! -i ${bridge} -j DROP`;
}

/** Whether a network of this gateway mode drops packets routed straight to its containers (endpoint.go). */
export function filtersDirectAccess(mode: GatewayMode): boolean {
  return mode !== 'routed' && mode !== 'nat-unprotected';
}

/**
 * raw PREROUTING: the rules that keep packets routed from outside away from one container
 * (endpoint.go filterDirectAccess): an ACCEPT per trusted host interface, then the DROP of
 * everything not from the bridge. None for a routed or nat-unprotected family, nor with the
 * daemon's allow-direct-routing.
 */
export function directAccessRules(state: DockerState, net: DockerNetwork, family: Family, ip: string): string[] {
  if (state.allowDirectRouting === true || !filtersDirectAccess(gatewayModeOf(net, family))) return [];
  return [...(net.trustedHostInterfaces ?? []).map((i) => trustedAcceptRule(ip, i)), directAccessDropRule(ip, net.bridge)];
}

/** raw PREROUTING: a trusted host interface's packets to a container. */
export function trustedAcceptRule(ip: string, iface: string): string {
  return `-d ${hostCidr(ip)} -i ${iface} -j ACCEPT`;
}

/** filter DOCKER: the ICMP a routed network accepts. */
export function routedIcmpRule(family: Family, bridge: string): string {
  return `-o ${bridge} -p ${family === 'ipv4' ? 'icmp' : 'ipv6-icmp'} -j ACCEPT`;
}

/** raw PREROUTING: remote packets for a port published on a loopback address. */
export function loopbackDropRule(b: PortBinding): string {
  return `-d ${hostCidr(b.hostIp)} ! -i lo -p ${b.proto} -m ${b.proto} --dport ${b.hostPort} -j DROP`;
}

/**
 * The raw PREROUTING rules in the order Docker appends them: each container address when its
 * endpoint joins (state.endpoints order, then addresses first seen in ports), followed by the
 * loopback DROPs of that container's published ports.
 */
function* rawRules(state: DockerState, family: Family, bindings: PortBinding[]): Steps<string[]> {
  const netOf = new Map(state.networks.map((n) => [n.name, n]));
  const order: Array<{ ip: string; network: string }> = [];
  const seen = new Set<string>();
  for (const e of state.endpoints ?? []) {
    if (parseAddress(e.ip)?.family !== family || seen.has(e.ip)) continue;
    seen.add(e.ip);
    order.push({ ip: e.ip, network: e.network });
  }
  for (let i = 0; i < bindings.length; i++) {
    if (pausesAt(i)) yield;
    const b = bindings[i]!;
    if (seen.has(b.containerIp)) continue;
    seen.add(b.containerIp);
    order.push({ ip: b.containerIp, network: b.network });
  }
  // Each container's loopback bindings, found in one pass (a pass per container was
  // quadratic: 30,000 ports took seconds). 127.0.0.0/8 only: the IPv6 loopback address is
  // not routable, Docker skips it.
  const loopbackOf = new Map<string, PortBinding[]>();
  if (family === 'ipv4') {
    for (const b of bindings) {
      if (!isLoopback(parseAddress(b.hostIp)!)) continue;
      const list = loopbackOf.get(b.containerIp);
      if (list) list.push(b);
      else loopbackOf.set(b.containerIp, [b]);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < order.length; i++) {
    if (pausesAt(i)) yield;
    const { ip, network } = order[i]!;
    const net = netOf.get(network)!;
    if (net.internal) continue;
    out.push(...directAccessRules(state, net, family, ip));
    for (const b of loopbackOf.get(ip) ?? []) out.push(loopbackDropRule(b));
  }
  return unique(out);
}

/** The raw PREROUTING rules of the state in that family (what v28Rules puts there). */
export function v28RawRules(state: DockerState, family: Family): string[] {
  return runSteps(rawRules(state, family, expandPorts(state.ports, family)));
}

export function v28Rules(state: DockerState, family: Family): Steps<DockerFamilyRuleset> {
  return iptablerRules(state, family, 'v28');
}

export function v29Rules(state: DockerState, family: Family): Steps<DockerFamilyRuleset> {
  return iptablerRules(state, family, 'v29');
}

/**
 * Layout "v28.1": Docker 28.0.2 to 28.1.x, read from moby v28.1.1
 * libnetwork/drivers/bridge/{setup_ip_tables_linux.go,port_mapping_linux.go} and
 * libnetwork/firewall_linux.go (no iptables golden files before 28.2; 28.0.2 to 28.1.1 write
 * the same rules). moby 76417bf763 ("Don't use ipset", 28.0.1) brought v28's DOCKER-FORWARD,
 * DOCKER-BRIDGE and DOCKER-CT; what 28.2's iptabler then changed: the raw direct-access DROP
 * was one per published port, `-d CIP ! -i BR -p P -m P --dport CPORT -j DROP` appended after
 * the port's loopback DROP (setPerPortIptables: filterPortMappedOnLoopback, then
 * filterDirectAccess; a nat family only), not one per endpoint; DOCKER-USER still held `-j
 * RETURN` (AddReturnRule, until 28.2.2); no trusted host interfaces, no allow-direct-routing. 28.0.1 also
 * inserted the skip-DNAT RETURN for a routed family whatever masquerade and the proxy (as
 * 28.0.0); 28.0.2 (4d8cff7bd4) made it v28's.
 */
export function v281Rules(state: DockerState, family: Family): Steps<DockerFamilyRuleset> {
  return iptablerRules(state, family, 'v28.1');
}

/** nat POSTROUTING's per-network rules at the top: the hairpin NAT of local traffic, and the subnet's NAT. */
export function postroutingTopRules(external: readonly DockerNetwork[], family: Family, hairpin: boolean): string[] {
  return external.flatMap((n) => [
    ...(hairpin ? [`-o ${n.bridge} -m addrtype --src-type LOCAL -j ${natTarget(n, family)}`] : []),
    ...(n.masquerade && gatewayModeOf(n, family) !== 'routed' ? [`-s ${subnetFor(n, family)!} ! -o ${n.bridge} -j ${natTarget(n, family)}`] : []),
  ]);
}

/**
 * filter DOCKER from 28.0.0 on: per-port ACCEPTs are inserted, so the first published port ends
 * up last (a rule that already exists is not inserted again: the first occurrence decides the
 * position; a nat-unprotected network's ports need none, its default rule accepts everything);
 * then each network's appended ICMP ACCEPT (routed) and default rule, oldest network first.
 */
export function* filterDockerRules(
  containerPorts: readonly PortBinding[],
  externalOldestFirst: readonly DockerNetwork[],
  netOf: ReadonlyMap<string, DockerNetwork>,
  family: Family,
): Steps<string[]> {
  const mode = (n: DockerNetwork): GatewayMode => gatewayModeOf(n, family);
  const accepts = (
    yield* mapSteps(
      containerPorts.filter((b) => mode(netOf.get(b.network)!) !== 'nat-unprotected'),
      (b) => acceptPortRule(b, netOf.get(b.network)!.bridge),
    )
  ).reverse();
  return [
    ...accepts,
    ...externalOldestFirst.flatMap((n) => [
      ...(mode(n) === 'routed' ? [routedIcmpRule(family, n.bridge)] : []),
      `! -i ${n.bridge} -o ${n.bridge} -j ${mode(n) === 'nat-unprotected' ? 'ACCEPT' : 'DROP'}`,
    ]),
  ];
}

/**
 * DOCKER-ISOLATION-STAGE-1's top, inserted newest network first: an internal network's two
 * DROPs, a routed network's ACCEPT of replies and RETURN.
 */
export function isolationTopRules(nets: readonly DockerNetwork[], family: Family): string[] {
  return nets.flatMap((n) =>
    n.internal
      ? internalDropRules(family, n.bridge, subnetFor(n, family)!)
      : gatewayModeOf(n, family) === 'routed'
        ? [`-i ${n.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, `-o ${n.bridge} -j RETURN`]
        : [],
  );
}

/** A network's appended forwarding rules (icc), in FORWARD (28.0.0) or DOCKER-FORWARD. */
export function bridgeForwardRules(n: DockerNetwork): string[] {
  if (n.internal) return [`-i ${n.bridge} -o ${n.bridge} -j ${n.icc ? 'ACCEPT' : 'DROP'}`];
  return n.icc ? [`-i ${n.bridge} -j ACCEPT`] : [`-i ${n.bridge} -o ${n.bridge} -j DROP`, `-i ${n.bridge} ! -o ${n.bridge} -j ACCEPT`];
}

function* iptablerRules(state: DockerState, family: Family, generation: 'v28.1' | 'v28' | 'v29'): Steps<DockerFamilyRuleset> {
  const v29 = generation === 'v29';
  const v281 = generation === 'v28.1';
  const nets = state.networks.filter((n) => subnetFor(n, family) !== undefined);
  const oldestFirst = [...nets].reverse();
  const external = nets.filter((n) => !n.internal);
  const externalOldestFirst = oldestFirst.filter((n) => !n.internal);
  const bridgeOf = new Map(state.networks.map((n) => [n.name, n.bridge]));
  const bindings = expandPorts(state.ports, family);
  const hairpin = !state.userlandProxy;

  const dnats = yield* mapSteps(bindings, (b) => dnatRule(b, bridgeOf.get(b.network)!, !hairpin, true));
  const natDocker = [
    // Docker 28's SKIP DNAT rule with the userland proxy; Docker 29 has none.
    ...(hairpin || v29 ? [] : external.filter((n) => n.masquerade).map((n) => `-i ${n.bridge} -j RETURN`)),
    ...dnats,
  ];
  const postroutingTop = postroutingTopRules(external, family, hairpin);
  const containerPorts = firstPerContainerPort(bindings);
  const postroutingBottom = hairpin ? yield* mapSteps(containerPorts, hairpinMasqueradeRule) : [];
  const netOf = new Map(state.networks.map((n) => [n.name, n]));
  const filterDocker = yield* filterDockerRules(containerPorts, externalOldestFirst, netOf, family);
  const dockerForward = [
    // Docker 29's bridge-accept-fwmark, inserted above the jumps by the first external
    // network (a daemon started afresh; the same rule text for every network, so one).
    ...(state.acceptFwMark !== undefined && external.length > 0 ? [`-m mark --mark ${state.acceptFwMark} -j ACCEPT`] : []),
    `-j ${DOCKER_CT_CHAIN}`,
    `-j ${v29 ? DOCKER_INTERNAL_CHAIN : ISOLATION_STAGE_1}`,
    `-j ${DOCKER_BRIDGE_CHAIN}`,
    ...oldestFirst.flatMap(bridgeForwardRules),
  ];
  // Each internal network inserts its two DROPs at the top: the newest network's come first.
  const internalDrops = nets.filter((n) => n.internal).flatMap((n) => internalDropRules(family, n.bridge, subnetFor(n, family)!));
  // v28's isolation: an internal network's DROPs and a routed network's ACCEPT of replies and
  // RETURN are inserted at the top (newest network first), the stage-2 jumps appended.
  const isolation1 = [
    ...isolationTopRules(nets, family),
    ...externalOldestFirst.map((n) => `-i ${n.bridge} ! -o ${n.bridge} -j ${ISOLATION_STAGE_2}`),
  ];
  const isolation2 = external.map((n) => `-o ${n.bridge} -j DROP`);

  const raw = v281 ? yield* v280RawRules(state, bindings) : yield* rawRules(state, family, bindings);

  return compact({
    ownedChains: [
      { table: 'nat', chain: DOCKER_CHAIN, rules: natDocker },
      { table: 'filter', chain: DOCKER_CHAIN, rules: filterDocker },
      { table: 'filter', chain: DOCKER_BRIDGE_CHAIN, rules: externalOldestFirst.map((n) => `-o ${n.bridge} -j ${DOCKER_CHAIN}`) },
      {
        table: 'filter',
        chain: DOCKER_CT_CHAIN,
        rules: externalOldestFirst.map((n) => `-o ${n.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`),
      },
      { table: 'filter', chain: DOCKER_FORWARD_CHAIN, rules: dockerForward },
      ...(v29
        ? [{ table: 'filter' as const, chain: DOCKER_INTERNAL_CHAIN, rules: internalDrops }]
        : [
            { table: 'filter' as const, chain: ISOLATION_STAGE_1, rules: isolation1 },
            { table: 'filter' as const, chain: ISOLATION_STAGE_2, rules: isolation2 },
          ]),
    ],
    builtinRules: [
      ...natJumpRules(family, state.userlandProxy),
      { table: 'nat', chain: 'POSTROUTING', position: 'top', rules: postroutingTop },
      { table: 'nat', chain: 'POSTROUTING', position: 'bottom', rules: postroutingBottom },
      { table: 'filter', chain: 'FORWARD', position: 'top', rules: [`-j ${DOCKER_USER_CHAIN}`, `-j ${DOCKER_FORWARD_CHAIN}`] },
      { table: 'raw', chain: 'PREROUTING', position: 'bottom', rules: raw },
    ],
    // Until 28.2.2 (moby dc519a0f18) setupUserChain ended DOCKER-USER with AddReturnRule's RETURN.
    userChains: [{ table: 'filter', chain: DOCKER_USER_CHAIN, rules: v281 ? ['-j RETURN'] : [] }],
  });
}
