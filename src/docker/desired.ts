// desiredRules: a validated Docker state to the rules Docker would have written for it, per
// address family, in the layout the state names (classic.ts, v28.ts for v28 and v29).

// A family none of whose networks has a subnet gets no rule and no chain: Docker only sets up
// ip6tables for IPv6 networks (with ip6tables off, the default before Docker 27), and an
// iptables host without any bridge network is not a Docker host iptkit can say anything about.

import type { Family } from '../rules/model.js';
import type { DockerState } from './state.js';
import { subnetFor } from './state.js';
import { classicRules } from './classic.js';
import { v28Rules, v29Rules } from './v28.js';
import { emptyFamilyRuleset, type DockerFamilyRuleset, type DockerRuleset } from './ruleset.js';

// With `ip6tables: true` (v28, v29) the IPv6 tables get Docker's chains and jumps even without
// an IPv6 network: the iptabler sets them up for every enabled family when the daemon starts
// (iptabler.go setupIPChains), networks add nothing to a family they have no subnet of
// (network.go configure), and the daemon adds DOCKER-USER (firewall_linux.go). That is moby's
// TestIptabler "cleaned" ip6tables golden plus TestUserChain's. `ip6tables: false`: none.
// `iptables` (--iptables) is the same for IPv4: the "cleaned" iptables golden, or nothing.
function forFamily(
  state: DockerState,
  family: Family,
  build: (s: DockerState, f: Family) => DockerFamilyRuleset,
): DockerFamilyRuleset {
  const enabled = family === 'ipv4' ? state.iptables : state.ip6tables;
  if (enabled !== undefined) return enabled ? build(state, family) : emptyFamilyRuleset();
  return state.networks.some((n) => subnetFor(n, family) !== undefined) ? build(state, family) : emptyFamilyRuleset();
}

export function desiredRules(state: DockerState): DockerRuleset {
  switch (state.layout) {
    case 'classic':
      return { layout: 'classic', ipv4: forFamily(state, 'ipv4', classicRules), ipv6: forFamily(state, 'ipv6', classicRules) };
    case 'v28':
      return { layout: 'v28', ipv4: forFamily(state, 'ipv4', v28Rules), ipv6: forFamily(state, 'ipv6', v28Rules) };
    case 'v29':
      return { layout: 'v29', ipv4: forFamily(state, 'ipv4', v29Rules), ipv6: forFamily(state, 'ipv6', v29Rules) };
    case 'nft':
      // Docker's native nftables back end writes its own `ip docker-bridges` table with sets
      // and maps, not iptables rules: there is nothing to express as iptables-save text.
      throw new RangeError('layout: "nft" has no iptables rules; desiredRules covers "classic", "v28" and "v29"');
  }
}
