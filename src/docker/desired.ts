// desiredRules: a validated Docker state to the rules Docker would have written for it, per
// address family, in the layout the state names (classic.ts, v280.ts for v28.0, v28.ts for
// v28.1, v28 and v29).

// A family none of whose networks has a subnet gets no rule and no chain: Docker only sets up
// ip6tables for IPv6 networks (with ip6tables off, the default before Docker 27), and an
// iptables host without any bridge network is not a Docker host iptkit can say anything about.

import type { Family } from '../rules/model.js';
import type { DockerState } from './state.js';
import { subnetFor } from './state.js';
import { classicRules } from './classic.js';
import { v281Rules, v28Rules, v29Rules } from './v28.js';
import { v280Rules } from './v280.js';
import { emptyFamilyRuleset, type DockerFamilyRuleset, type DockerRuleset } from './ruleset.js';
import { runSteps, type Steps } from '../turn.js';

// With `ip6tables: true` (v28.0, v28.1, v28, v29) the IPv6 tables get Docker's chains and jumps
// even without an IPv6 network: the iptabler sets them up for every enabled family when the
// daemon starts (iptabler.go setupIPChains), networks add nothing to a family they have no
// subnet of (network.go configure), and the daemon adds DOCKER-USER (firewall_linux.go). That is moby's
// TestIptabler "cleaned" ip6tables golden plus TestUserChain's. `ip6tables: false`: none.
// `iptables` (--iptables) is the same for IPv4: the "cleaned" iptables golden, or nothing.
function* forFamily(
  state: DockerState,
  family: Family,
  build: (s: DockerState, f: Family) => Steps<DockerFamilyRuleset>,
): Steps<DockerFamilyRuleset> {
  if (!writesFamily(state, family)) return emptyFamilyRuleset();
  const rs = yield* build(state, family);
  return forwardDrop(state, family, true) ? { ...rs, forwardPolicy: 'DROP' } : rs;
}

/** Whether the state has Docker write `family`'s rules (forFamily). */
export function writesFamily(state: DockerState, family: Family): boolean {
  const enabled = family === 'ipv4' ? state.iptables : state.ip6tables;
  return enabled ?? state.networks.some((n) => subnetFor(n, family) !== undefined);
}

/**
 * Whether Docker sets the filter FORWARD policy of `family` to DROP, given that it writes the
 * family's rules (`enabled`): when it turns forwarding on itself (assumed; a host where
 * forwarding was already on reads as `ipForwardNoDrop`). Docker 28+ (bridge driver
 * setupIPv4Forwarding/setupIPv6Forwarding) does it for a family when a network of that family
 * is set up, --iptables/--ip6tables are on and --ip-forward-no-drop is off. Docker 27
 * (setupIPForwarding, at the driver's start) does it for IPv4 the same way, and for IPv6
 * whenever --ip6tables is on, forwarding on before or not.
 */
export function forwardDrop(state: DockerState, family: Family, enabled: boolean): boolean {
  if (!enabled) return false;
  if (state.layout === 'classic') return family === 'ipv6' || state.ipForwardNoDrop !== true;
  return state.ipForwardNoDrop !== true && state.networks.some((n) => subnetFor(n, family) !== undefined);
}

export function desiredRules(state: DockerState): DockerRuleset {
  return runSteps(desiredRulesSteps(state));
}

/** desiredRules as Steps (turn.ts), pausing between ports: for DockerHost.apply. */
export function* desiredRulesSteps(state: DockerState): Steps<DockerRuleset> {
  const build = layoutRules(state.layout);
  const ipv4 = yield* forFamily(state, 'ipv4', build);
  const ipv6 = yield* forFamily(state, 'ipv6', build);
  return { layout: state.layout, ipv4, ipv6 };
}

function layoutRules(layout: DockerState['layout']): (s: DockerState, f: Family) => Steps<DockerFamilyRuleset> {
  switch (layout) {
    case 'classic':
      return classicRules;
    case 'v28.0':
      return v280Rules;
    case 'v28.1':
      return v281Rules;
    case 'v28':
      return v28Rules;
    case 'v29':
      return v29Rules;
    case 'docker-nft':
      // Docker's native nftables back end writes its own `docker-bridges` tables with verdict
      // maps, not iptables rules (nftabler.ts describes them as nftables objects).
      throw new RangeError('layout: "docker-nft" has no iptables rules; desiredRules covers "classic", "v28.0", "v28.1", "v28" and "v29" (nftablerTables: "docker-nft")');
  }
}
