// Layout "v28.0": the iptables rules of Docker Engine 28.0.0 only, read from moby v28.0.0
// libnetwork/drivers/bridge/{setup_ip_tables_linux.go,bridge_linux.go,port_mapping_linux.go}
// and libnetwork/firewall_linux.go (moby has no iptables golden files before 28.2, so the unit
// test pins rules derived from that code). 28.0.1 dropped the ipsets for DOCKER-FORWARD.
//
// At the driver's start, per enabled family (setupIPChains): the hash:net ipset
// docker-ext-bridges-v4/-v6 (ipset.ts keeps it; members are the non-internal networks' masked
// subnets), nat and filter DOCKER, DOCKER-ISOLATION-STAGE-1/2 (no RETURN in them), the nat
// jumps, and three rules each inserted at the top of filter FORWARD (so they end up reversed):
// the ipset jump to DOCKER, the jump to stage 1, the ipset conntrack ACCEPT. The controller then
// inserts the DOCKER-USER jump above them; DOCKER-USER holds `-j RETURN` (AddReturnRule).
//
// Per non-internal network (setupNonInternalNetworkRules, setDefaultForwardRule): nat as
// classic, except that the skip-DNAT `-i BR -j RETURN` is also inserted for a routed family
// (`!nat || (masquerade && !hairpin)`); FORWARD appends `-i BR -j ACCEPT` (icc) or `-i BR -o
// BR -j DROP` then `-i BR ! -o BR -j ACCEPT`; filter DOCKER appends a routed family's ICMP
// ACCEPT and then `! -i BR -o BR -j DROP` (ACCEPT for nat-unprotected). Isolation (setINC, for
// every enabled family whatever the network's subnets): a routed family's conntrack ACCEPT and
// `-o BR -j RETURN` inserted at the top of stage 1, the stage-2 jump appended there, `-o BR -j
// DROP` inserted in stage 2. An internal network inserts classic's two DROPs at the top of
// stage 1 and appends `-i BR -o BR -j ACCEPT` (icc) or `-j DROP` to FORWARD.
//
// Per port binding, in order (setPerPortIptables): raw PREROUTING appends the loopback DROP
// (IPv4 host address in 127.0.0.0/8) and, for a nat family, the per-port direct-access DROP
// `-d CIP ! -i BR -p P -m P --dport CPORT -j DROP`; nat DOCKER appends the DNAT (`! -i BR`
// with the userland proxy, `! -s fe80::/10` on IPv6); without the proxy POSTROUTING appends
// the hairpin MASQUERADE; filter DOCKER gets the port's ACCEPT inserted at the top (not for
// nat-unprotected). No per-endpoint rule, no trusted interfaces, no SCTP checksum rule (it
// needs DOCKER_IPTABLES_SCTP_CHECKSUM=1).

import type { Family } from '../rules/model.js';
import { mapSteps, pausesAt, type Steps } from '../turn.js';
import { hostCidr, isLoopback, parseAddress } from './address.js';
import type { DockerNetwork, DockerState, GatewayMode } from './state.js';
import { gatewayModeOf, subnetFor } from './state.js';
import { bridgeForwardRules, filterDockerRules, filtersDirectAccess, isolationTopRules, loopbackDropRule, postroutingTopRules } from './v28.js';
import {
  DOCKER_CHAIN,
  DOCKER_USER_CHAIN,
  ISOLATION_STAGE_1,
  ISOLATION_STAGE_2,
  compact,
  dnatRule,
  expandPorts,
  firstPerContainerPort,
  hairpinMasqueradeRule,
  natJumpRules,
  unique,
  type DockerFamilyRuleset,
  type PortBinding,
} from './ruleset.js';

/** The hash:net ipset of a family's non-internal bridge subnets (setup_ip_tables_linux.go). */
export function extBridgesSet(family: Family): string {
  return family === 'ipv4' ? 'docker-ext-bridges-v4' : 'docker-ext-bridges-v6';
}

/** filter FORWARD, top to bottom, as setupIPChains and setupUserChain leave it. */
export function v280ForwardJumps(family: Family): string[] {
  const set = extBridgesSet(family);
  return [
    `-j ${DOCKER_USER_CHAIN}`,
    `-m set --match-set ${set} dst -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-j ${ISOLATION_STAGE_1}`,
    `-m set --match-set ${set} dst -j ${DOCKER_CHAIN}`,
  ];
}

/** The set's members in that family: each non-internal network's subnet (already masked). */
export function extBridgesMembers(state: DockerState, family: Family): string[] {
  return unique(state.networks.filter((n) => !n.internal).flatMap((n) => subnetFor(n, family) ?? []));
}

/** raw PREROUTING: one binding's direct-access DROP (port_mapping_linux.go filterDirectAccess). */
export function portDirectAccessDropRule(b: PortBinding, bridge: string): string {
  return ['-d', hostCidr(b.containerIp), '! -i', bridge, '-p', b.proto, '-m', b.proto, '--dport', b.containerPort, '-j DROP'].join(' ');
}

/** raw PREROUTING: a binding's loopback DROP (an IPv4 host address in 127.0.0.0/8), if any. */
export function v280LoopbackDrop(b: PortBinding): string | undefined {
  return b.family === 'ipv4' && isLoopback(parseAddress(b.hostIp)!) ? loopbackDropRule(b) : undefined;
}

/** raw PREROUTING: a binding's direct-access DROP (a nat family only), if any. */
export function v280DirectDrop(b: PortBinding, net: DockerNetwork): string | undefined {
  return filtersDirectAccess(gatewayModeOf(net, b.family)) ? portDirectAccessDropRule(b, net.bridge) : undefined;
}

/** raw PREROUTING of one binding, in the order 28.0.0 appends them. */
export function v280RawRulesOf(b: PortBinding, net: DockerNetwork): string[] {
  return [v280LoopbackDrop(b), v280DirectDrop(b, net)].filter((r): r is string => r !== undefined);
}

/** raw PREROUTING of a state: each binding's loopback and direct-access DROPs, in port order (28.0.0 to 28.1.x). */
export function* v280RawRules(state: DockerState, bindings: readonly PortBinding[]): Steps<string[]> {
  const netOf = new Map(state.networks.map((n) => [n.name, n]));
  const raw: string[] = [];
  for (let i = 0; i < bindings.length; i++) {
    if (pausesAt(i)) yield;
    raw.push(...v280RawRulesOf(bindings[i]!, netOf.get(bindings[i]!.network)!));
  }
  return unique(raw);
}

export function* v280Rules(state: DockerState, family: Family): Steps<DockerFamilyRuleset> {
  const nets = state.networks.filter((n) => subnetFor(n, family) !== undefined);
  const oldestFirst = [...nets].reverse();
  const external = nets.filter((n) => !n.internal);
  const externalOldestFirst = oldestFirst.filter((n) => !n.internal);
  const netOf = new Map(state.networks.map((n) => [n.name, n]));
  const bindings = expandPorts(state.ports, family);
  const hairpin = !state.userlandProxy;
  const mode = (n: DockerNetwork): GatewayMode => gatewayModeOf(n, family);

  // nat: the skip-DNAT RETURNs are inserted (newest network first) above the appended DNATs.
  const skipDnat = external.filter((n) => mode(n) === 'routed' || (n.masquerade && !hairpin));
  const dnats = yield* mapSteps(bindings, (b) => dnatRule(b, netOf.get(b.network)!.bridge, !hairpin, true));
  const natDocker = [...skipDnat.map((n) => `-i ${n.bridge} -j RETURN`), ...dnats];
  const postroutingTop = postroutingTopRules(external, family, hairpin);
  const containerPorts = firstPerContainerPort(bindings);
  const postroutingBottom = hairpin ? yield* mapSteps(containerPorts, hairpinMasqueradeRule) : [];
  const filterDocker = yield* filterDockerRules(containerPorts, externalOldestFirst, netOf, family);

  // Isolation: setINC runs for every family iptables is on for, so with `iptables`/`ip6tables`
  // true every non-internal network is isolated there, subnet in that family or not.
  const enabled = family === 'ipv4' ? state.iptables : state.ip6tables;
  const isolated = state.networks.filter((n) => (n.internal ? subnetFor(n, family) !== undefined : enabled === true || subnetFor(n, family) !== undefined));
  const isolation1 = [
    ...isolationTopRules(isolated, family),
    ...[...isolated]
      .reverse()
      .filter((n) => !n.internal)
      .map((n) => `-i ${n.bridge} ! -o ${n.bridge} -j ${ISOLATION_STAGE_2}`),
  ];
  const isolation2 = isolated.filter((n) => !n.internal).map((n) => `-o ${n.bridge} -j DROP`);

  const raw = yield* v280RawRules(state, bindings);

  return compact({
    ownedChains: [
      { table: 'nat', chain: DOCKER_CHAIN, rules: natDocker },
      { table: 'filter', chain: DOCKER_CHAIN, rules: filterDocker },
      { table: 'filter', chain: ISOLATION_STAGE_1, rules: isolation1 },
      { table: 'filter', chain: ISOLATION_STAGE_2, rules: isolation2 },
    ],
    builtinRules: [
      ...natJumpRules(family, state.userlandProxy),
      { table: 'nat', chain: 'POSTROUTING', position: 'top', rules: postroutingTop },
      { table: 'nat', chain: 'POSTROUTING', position: 'bottom', rules: postroutingBottom },
      { table: 'filter', chain: 'FORWARD', position: 'top', rules: v280ForwardJumps(family) },
      { table: 'filter', chain: 'FORWARD', position: 'bottom', rules: oldestFirst.flatMap(bridgeForwardRules) },
      { table: 'raw', chain: 'PREROUTING', position: 'bottom', rules: raw },
    ],
    userChains: [{ table: 'filter', chain: DOCKER_USER_CHAIN, rules: ['-j RETURN'] }],
  });
}
