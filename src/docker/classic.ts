// Layout "classic": the iptables rules of Docker 19.03 to 27, rule for rule and in Docker's
// order (learnt from moby/moby v27.5.1 libnetwork/drivers/bridge/setup_ip_tables_linux.go,
// port_mapping_linux.go, libnetwork/iptables/iptables.go and libnetwork/firewall_linux.go).
//
// Order comes from how Docker programs a network when it is created: per-network rules are
// inserted at the top of their chain (`-I`), so the newest network is first (the state lists
// networks top first); the icc=false DROP is appended, so those go oldest first; per-port rules
// are appended in publishing order; the nat jumps are appended once; and after every network
// DOCKER-ISOLATION-STAGE-1 then DOCKER-USER are moved to the top of FORWARD.
//
// IPv6: a network's rules go to the ip6tables tables when it has an IPv6 subnet. With the
// state's `ip6tables: true` (the daemon's --ip6tables, default on since 27) the IPv6 tables are
// what Docker 27 writes there: its chains (setupIPChains: nat and filter DOCKER, the isolation
// chains ending in RETURN), DOCKER-USER and its jump (firewall_linux.go arrangeUserFilterRule),
// and every non-internal network's inter-network isolation rules, IPv4-only ones included
// (bridge_linux.go isolateNetwork calls setINC for each enabled family); the FORWARD jump to
// DOCKER-ISOLATION-STAGE-1 and the nat jumps come with a network that has an IPv6 subnet
// (setupIPTables, ProgramChain).
//
// Gateway mode `routed` (Docker 27's only other mode) drops the subnet's NAT and the skip-DNAT
// RETURN; the SNAT host address (com.docker.network.host_ipv4/6) turns the MASQUERADEs of the
// subnet and of hairpin's LOCAL sources into `-j SNAT --to-source ADDRESS`.

import type { Family } from '../rules/model.js';
import { mapSteps, type Steps } from '../turn.js';
import type { DockerNetwork, DockerState } from './state.js';
import { gatewayModeOf, subnetFor } from './state.js';
import {
  DOCKER_CHAIN,
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
  sctpChecksumRule,
  unique,
  type DockerFamilyRuleset,
} from './ruleset.js';

/** The per-network rules an internal network puts in DOCKER-ISOLATION-STAGE-1 (out, then in). */
export function internalDropRules(family: Family, bridge: string, subnet: string): string[] {
  // Docker inserts the "in" rule, then the "out" rule above it. IPv6 adds the bridge
  // exclusions so that traffic within the bridge is left to the icc rule.
  return family === 'ipv4'
    ? [`! -s ${subnet} -o ${bridge} -j DROP`, `! -d ${subnet} -i ${bridge} -j DROP`]
    : [`! -s ${subnet} ! -i ${bridge} -o ${bridge} -j DROP`, `! -d ${subnet} -i ${bridge} ! -o ${bridge} -j DROP`];
}

export function* classicRules(state: DockerState, family: Family): Steps<DockerFamilyRuleset> {
  const nets = state.networks.filter((n) => subnetFor(n, family) !== undefined);
  // The networks in this family's isolation chains: with ip6tables on, every non-internal
  // network is in the IPv6 ones.
  const isolated = family === 'ipv6' && state.ip6tables === true ? state.networks.filter((n) => !n.internal || subnetFor(n, family) !== undefined) : nets;
  const isolatedExternal = isolated.filter((n) => !n.internal);
  const external = nets.filter((n) => !n.internal);
  const bridgeOf = new Map(state.networks.map((n) => [n.name, n.bridge]));
  const bindings = expandPorts(state.ports, family);
  const hairpin = !state.userlandProxy;

  // nat
  // A routed family (gateway_mode_ipv4/6, Docker 27) has no NAT: neither the subnet's
  // MASQUERADE nor the skip-DNAT RETURN (v27.5.1 setupIPTablesInternal: `nat && masquerade`).
  const nat = (n: DockerNetwork): boolean => n.masquerade && gatewayModeOf(n, family) !== 'routed';
  const dnats = yield* mapSteps(bindings, (b) => dnatRule(b, bridgeOf.get(b.network)!, !hairpin, false));
  const natDocker = [
    // Without hairpin mode, packets from a bridge skip DNAT so docker-proxy handles them.
    ...(hairpin ? [] : external.filter(nat).map((n) => `-i ${n.bridge} -j RETURN`)),
    ...dnats,
  ];
  const postroutingTop = external.flatMap((n: DockerNetwork) => [
    ...(hairpin ? [`-o ${n.bridge} -m addrtype --src-type LOCAL -j ${natTarget(n, family)}`] : []),
    ...(nat(n) ? [`-s ${subnetFor(n, family)!} ! -o ${n.bridge} -j ${natTarget(n, family)}`] : []),
  ]);
  const containerPorts = firstPerContainerPort(bindings);
  const postroutingBottom = yield* mapSteps(containerPorts, hairpinMasqueradeRule);

  // filter
  const filterDocker = yield* mapSteps(containerPorts, (b) => acceptPortRule(b, bridgeOf.get(b.network)!));
  const isolation1 = [
    ...isolated.flatMap((n) =>
      n.internal
        ? internalDropRules(family, n.bridge, subnetFor(n, family)!)
        : [`-i ${n.bridge} ! -o ${n.bridge} -j ${ISOLATION_STAGE_2}`],
    ),
    '-j RETURN',
  ];
  const isolation2 = [...isolatedExternal.map((n) => `-o ${n.bridge} -j DROP`), '-j RETURN'];
  const forwardTop = [
    `-j ${DOCKER_USER_CHAIN}`,
    ...(nets.length > 0 ? [`-j ${ISOLATION_STAGE_1}`] : []),
    ...nets.flatMap((n) =>
      n.internal
        ? n.icc
          ? [`-i ${n.bridge} -o ${n.bridge} -j ACCEPT`]
          : []
        : [
            `-o ${n.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
            `-o ${n.bridge} -j ${DOCKER_CHAIN}`,
            `-i ${n.bridge} ! -o ${n.bridge} -j ACCEPT`,
            ...(n.icc ? [`-i ${n.bridge} -o ${n.bridge} -j ACCEPT`] : []),
          ],
    ),
  ];
  const forwardBottom = [...nets]
    .reverse()
    .filter((n) => !n.icc)
    .map((n) => `-i ${n.bridge} -o ${n.bridge} -j DROP`);

  // mangle: every SCTP binding appends `-p sctp --sport CONTAINER_PORT -j CHECKSUM
  // --checksum-fill` (v27.5.1 port_mapping_linux.go setPerPortForwarding, both families;
  // Docker 28 writes it only with DOCKER_IPTABLES_SCTP_CHECKSUM=1, Docker 29 not at all).
  const mangleBottom = unique(bindings.filter((b) => b.proto === 'sctp').map(sctpChecksumRule));

  return compact({
    ownedChains: [
      { table: 'nat', chain: DOCKER_CHAIN, rules: natDocker },
      { table: 'filter', chain: DOCKER_CHAIN, rules: filterDocker },
      { table: 'filter', chain: ISOLATION_STAGE_1, rules: isolation1 },
      { table: 'filter', chain: ISOLATION_STAGE_2, rules: isolation2 },
    ],
    builtinRules: [
      ...(nets.length > 0 ? natJumpRules(family, state.userlandProxy) : []),
      { table: 'nat', chain: 'POSTROUTING', position: 'top', rules: postroutingTop },
      { table: 'nat', chain: 'POSTROUTING', position: 'bottom', rules: postroutingBottom },
      { table: 'filter', chain: 'FORWARD', position: 'top', rules: forwardTop },
      { table: 'filter', chain: 'FORWARD', position: 'bottom', rules: forwardBottom },
      { table: 'mangle', chain: 'POSTROUTING', position: 'bottom', rules: mangleBottom },
    ],
    userChains: [{ table: 'filter', chain: DOCKER_USER_CHAIN, rules: ['-j RETURN'] }],
  });
}
