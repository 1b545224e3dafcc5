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

function forFamily(
  state: DockerState,
  family: Family,
  build: (s: DockerState, f: Family) => DockerFamilyRuleset,
): DockerFamilyRuleset {
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
