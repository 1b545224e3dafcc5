// `--backend auto` (Netfilter.open's default): the back end that holds something — a rule, a
// user-defined chain, a policy other than ACCEPT — asked natively without reading the tables.
// The expectation comes from the tools themselves: a back end holds something exactly when
// its iptables-save prints a rule, a user-defined chain or a non-ACCEPT policy.

import { describe, expect, test } from 'vitest';
import { Netfilter } from '../../src/netfilter.js';
import { isRoot, withNetns, type Netns } from '../helpers/netns.js';

type Family = 'ipv4' | 'ipv6';

/** What iptables-save of that back end shows: anything beyond empty ACCEPT built-in chains. */
function holds(ns: Netns, backend: 'legacy' | 'nft', family: Family): boolean {
  const save = ns.ok(`${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${backend}-save`);
  return save.split('\n').some((l) => l.startsWith('-A ') || / - \[/.test(l) || (/^:\S+ (DROP|RETURN)/.test(l)));
}

// Each case: shell steps (run in the namespace), then the back end auto must pick.
const CASES: Array<[string, (ipt: (be: string) => string) => string[], 'legacy' | 'nft']> = [
  ['nothing anywhere: nf_tables, what iptables-nft would use', () => [], 'nft'],
  ['a legacy rule', (ipt) => [`${ipt('legacy')} -A INPUT -j ACCEPT`], 'legacy'],
  ['a legacy rule in the nat table only', (ipt) => [`${ipt('legacy')} -t nat -A POSTROUTING -j ACCEPT`], 'legacy'],
  ['a legacy user-defined chain, no rule', (ipt) => [`${ipt('legacy')} -N X`], 'legacy'],
  ['a legacy DROP policy, no rule', (ipt) => [`${ipt('legacy')} -P FORWARD DROP`], 'legacy'],
  ['legacy tables that exist but are empty', (ipt) => [`${ipt('legacy')} -t nat -L -n`, `${ipt('legacy')} -t mangle -L -n`], 'nft'],
  // With a legacy rule beside it, each of these is decided by what nf_tables holds.
  ['a legacy rule, and an iptables-nft rule in the last chain only', (ipt) => [`${ipt('legacy')} -A INPUT -j ACCEPT`, `${ipt('nft')} -t mangle -A POSTROUTING -j ACCEPT`], 'nft'],
  ['a legacy rule, and an iptables-nft user-defined chain', (ipt) => [`${ipt('legacy')} -A INPUT -j ACCEPT`, `${ipt('nft')} -N X`], 'nft'],
  ['a legacy rule, and an iptables-nft DROP policy', (ipt) => [`${ipt('legacy')} -A INPUT -j ACCEPT`, `${ipt('nft')} -P OUTPUT DROP`], 'nft'],
  ['rules on both: nf_tables', (ipt) => [`${ipt('legacy')} -A INPUT -j ACCEPT`, `${ipt('nft')} -A INPUT -j ACCEPT`], 'nft'],
  ['an emptied iptables-nft table and a legacy rule', (ipt) => [`${ipt('nft')} -A INPUT -j ACCEPT`, `${ipt('nft')} -F`, `${ipt('legacy')} -A INPUT -j ACCEPT`], 'legacy'],
];

describe.skipIf(!isRoot)('backend auto', () => {
  for (const family of ['ipv4', 'ipv6'] as const) {
    const ipt = (be: string): string => `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${be}`;
    test.each(CASES)(`${family}: %s`, (_what, steps, want) =>
      withNetns(async (ns) => {
        for (const s of steps(ipt)) ns.ok('sh', ['-c', s]);
        // The oracle first: what the tools show agrees with the expectation.
        expect(holds(ns, 'nft', family) ? 'nft' : holds(ns, 'legacy', family) ? 'legacy' : 'nft').toBe(want);
        const nf = await Netfilter.open({ backend: 'auto', family, netns: ns.name });
        expect(nf.backend).toBe(want);
      }),
    );
  }

  // A table of another program (nft's own) is not iptables': its rules do not count.
  test('an nft table of its own with rules, and a legacy rule: legacy', () =>
    withNetns(async (ns) => {
      ns.ok('nft', ['-f', '-'], 'table inet other {\n chain c {\n type filter hook input priority 0; policy drop;\n counter accept\n }\n}\n');
      ns.ok('iptables-legacy', ['-A', 'INPUT', '-j', 'ACCEPT']);
      expect((await Netfilter.open({ backend: 'auto', netns: ns.name })).backend).toBe('legacy');
    }));
});
