// The match modules against the kernel (legacy): rules restored with iptables-legacy-restore
// in a throwaway netns read back through Netfilter.read as text no module left opaque, the
// texts iptables-legacy-save prints, and save (Netfilter.save) as it does; and the reverse: the same rules,
// committed by iptkit as new rules (their text parsed again, nothing kept), read back through
// iptables-legacy-save as the same lines.
// Needs root and the addon (IPTKIT_NATIVE=…/iptkit.node for a private build).

import { describe, expect, it } from 'vitest';
import { Netfilter } from '../../src/netfilter.js';
import type { Family } from '../../src/rules/model.js';
import { isRoot, saveLines, withNetns } from '../helpers/netns.js';
import type { Netns } from '../helpers/netns.js';
import { savedTable, tableSaved } from '../helpers/save-text.js';

const V4 = [
  "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT",
  "-A INPUT -p tcp -m tcp ! --sport 1000:2000 --dport 22 --tcp-flags SYN,ACK SYN -j ACCEPT",
  "-A INPUT -p tcp -m tcp --syn --tcp-option 8 -j ACCEPT",
  "-A INPUT -p tcp -m tcp ! --tcp-flags ALL NONE ! --tcp-option 3 -j ACCEPT",
  "-A INPUT -p tcp -m tcp --sport 1000: --dport :1024 -j ACCEPT",
  "-A INPUT -p tcp -m tcp ! --syn -j ACCEPT",
  "-A INPUT -p tcp -m tcp --destination-port https --source-port ssh -j ACCEPT",
  "-A INPUT -p tcp -m tcp -j ACCEPT",
  "-A INPUT -p tcp -m tcp ! --dport 0:65535 -j ACCEPT",
  "-A INPUT -p udp -m udp --dport 53 -j ACCEPT",
  "-A INPUT -p udp -m udp ! --sport 53 ! --dport 0:10 -j ACCEPT",
  "-A INPUT -p udp -m udp --sport 67:68 -j ACCEPT",
  "-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT",
  "-A INPUT -p icmp -m icmp ! --icmp-type 3/4 -j ACCEPT",
  "-A INPUT -p icmp -m icmp --icmp-type any -j ACCEPT",
  "-A INPUT -p icmp -m icmp --icmp-type echo-reply -j ACCEPT",
  "-A INPUT -p icmp -m icmp --icmp-type 200 -j ACCEPT",
  "-A INPUT -p icmp -m icmp ! --icmp-type 200/3 -j ACCEPT",
  "-A INPUT -p icmp -m icmp --icmp-type time-exceeded -j ACCEPT",
  "-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT",
  "-A INPUT -m addrtype ! --src-type LOCAL,BROADCAST --limit-iface-in -j ACCEPT",
  "-A INPUT -m addrtype --src-type unicast,multicast ! --dst-type BLACKHOLE -j ACCEPT",
  "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
  "-A INPUT -m conntrack ! --ctstate INVALID,UNTRACKED,SNAT,DNAT,NEW -j ACCEPT",
  "-A INPUT -m conntrack --ctproto tcp --ctorigsrc 10.0.0.0/8 ! --ctorigdst 1.2.3.4 --ctreplsrc 5.6.7.8/24 --ctrepldst 9.9.9.9 -j ACCEPT",
  "-A INPUT -m conntrack --ctorigsrcport 80 ! --ctorigdstport 1000:2000 --ctreplsrcport 5 --ctrepldstport 6:7 -j ACCEPT",
  "-A INPUT -m conntrack --ctstatus ASSURED,SEEN_REPLY ! --ctexpire 10:20 --ctdir ORIGINAL -j ACCEPT",
  "-A INPUT -m conntrack ! --ctstatus NONE --ctexpire 5 --ctdir REPLY -j ACCEPT",
  "-A INPUT -m conntrack --ctorigsrc 0.0.0.0/0 --ctorigdst 1.2.3.4/32 ! --ctproto 17 -j ACCEPT",
  "-A INPUT -m conntrack --ctorigsrc 1.2.3.4/0 -j ACCEPT",
  "-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT",
  "-A INPUT -m state ! --state INVALID,UNTRACKED -j ACCEPT",
  "-A INPUT -m state --state new -j ACCEPT",
  "-A INPUT -m comment --comment \"hello world\" -j ACCEPT",
  "-A INPUT -m comment --comment plain -j ACCEPT",
  "-A INPUT -m comment --comment \"with \\\"quote\\\" and 'single'\" -j ACCEPT",
  "-A INPUT -m comment --comment \"a.b\" -j ACCEPT",
  "-A INPUT -m comment --comment \"\" -j ACCEPT",
  "-A INPUT -m comment --comment \"back\\\\slash\" -j ACCEPT",
  "-A INPUT -p tcp -m multiport --dports 80,443,1000:2000 -j ACCEPT",
  "-A INPUT -p udp -m multiport ! --sports 53 -j ACCEPT",
  "-A INPUT -p tcp -m multiport --ports 22 -j ACCEPT",
  "-A INPUT -p tcp -m multiport --destination-ports http,https -j ACCEPT",
  "-A INPUT -p udp -m multiport --source-ports domain,67:68 -j ACCEPT",
  "-A INPUT -m mark --mark 0x1 -j ACCEPT",
  "-A INPUT -m mark ! --mark 0x10/0xff -j ACCEPT",
  "-A INPUT -m mark --mark 16/0xffffffff -j ACCEPT",
  "-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 -j ACCEPT",
  "-A INPUT -m iprange ! --src-range 10.0.0.1-10.0.0.9 ! --dst-range 1.1.1.1-2.2.2.2 -j ACCEPT",
  "-A INPUT -m iprange --dst-range 1.2.3.4 -j ACCEPT",
  "-A INPUT -m limit --limit 3/hour -j ACCEPT",
  "-A INPUT -m limit --limit 10/sec --limit-burst 20 -j ACCEPT",
  "-A INPUT -m limit --limit 1/min -j ACCEPT",
  "-A INPUT -m limit --limit 7/day -j ACCEPT",
  "-A INPUT -m limit -j ACCEPT",
  "-A INPUT -m limit --limit 100 --limit-burst 5 -j ACCEPT",
  "-A INPUT -m limit --limit 2/s -j ACCEPT",
  "-A OUTPUT -m addrtype --dst-type LOCAL ! --src-type UNICAST --limit-iface-out -j ACCEPT",
  "-A OUTPUT -p tcp -m tcp --dport 80 -m comment --comment x -m state --state NEW -m limit --limit 1/s -j ACCEPT",
];

const V6 = [
  "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT",
  "-A INPUT -p ipv6-icmp -m icmpv6 ! --icmpv6-type 1/4 -j ACCEPT",
  "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type echo-reply -j ACCEPT",
  "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbor-solicitation -j ACCEPT",
  "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 200 -j ACCEPT",
  "-A INPUT -p ipv6-icmp -m icmp6 ! --icmpv6-type 200/3 -j ACCEPT",
  "-A INPUT -m iprange --src-range fd00::1-fd00::9 ! --dst-range ::1-::2 -j ACCEPT",
  "-A INPUT -m conntrack --ctorigsrc fd00::/64 --ctrepldst ::1 -j ACCEPT",
  "-A INPUT -m conntrack ! --ctreplsrc fd00::1/128 --ctstate NEW -j ACCEPT",
  "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT",
  "-A INPUT -p udp -m udp ! --dport 53 -j ACCEPT",
  "-A INPUT -m state --state NEW -j ACCEPT",
  "-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT",
  "-A INPUT -m mark --mark 0x5/0x7 -j ACCEPT",
  "-A INPUT -m limit --limit 5/minute --limit-burst 9 -j ACCEPT",
  "-A INPUT -m comment --comment \"v6 rule\" -j ACCEPT",
  "-A INPUT -p tcp -m multiport ! --dports 22,80:90 -j ACCEPT",
];

function restoreText(rules: readonly string[]): string {
  return ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...rules, 'COMMIT', ''].join('\n');
}

const TOOLS: Record<Family, { restore: string; save: string }> = {
  ipv4: { restore: 'iptables-legacy-restore', save: 'iptables-legacy-save' },
  ipv6: { restore: 'ip6tables-legacy-restore', save: 'ip6tables-legacy-save' },
};

/** -w: other test files take the xtables lock too. */
function restore(ns: Netns, family: Family, text: string): void {
  ns.ok(TOOLS[family].restore, ['-w'], text);
}

function toolSave(ns: Netns, family: Family): string[] {
  return saveLines(ns.ok(TOOLS[family].save, ['-t', 'filter']));
}

const OPAQUE = /--iptkit-opaque/;

describe.skipIf(!isRoot)('match modules on the kernel (legacy)', () => {
  for (const [family, rules] of [['ipv4', V4], ['ipv6', V6]] as const) {
    it(`${family}: rules iptables-legacy-restore wrote read back as text, none opaque, printed as iptables-legacy-save prints them`, async () => {
      await withNetns(async (ns) => {
        restore(ns, family, restoreText(rules));
        // iptables-save drops `! --dport 0:65535` (a match of nothing); iptkit's text keeps it.
        const expected = toolSave(ns, family)
          .filter((l) => l.startsWith('-A'))
          .map((l, i) => (/! --dport 0:65535/.test(rules[i]!) ? l.replace('-m tcp -j', '-m tcp ! --dport 0:65535 -j') : l));
        const nf = await Netfilter.open({ backend: 'legacy', family, netns: ns.name, offload: false });
        const [table] = await nf.read(['filter']);
        const texts = table!.chains.flatMap((c) => c.rules);
        expect(texts.filter((r) => OPAQUE.test(r)), 'rules no module printed').toEqual([]);
        expect(tableSaved(table!).rules).toEqual(savedTable(['*filter', ...expected].join('\n')).rules);
        const printed = saveLines(await nf.save({ tables: ['filter'] })).filter((l) => l.startsWith('-A'));
        expect(printed).toEqual(expected);
        expect(printed.length).toBe(rules.length);
      }, 'iptkit-matches');
    });

    it(`${family}: the same rules committed by iptkit as new rules read back through iptables-legacy-save`, async () => {
      await withNetns(async (ns) => {
        restore(ns, family, restoreText(rules));
        const expected = toolSave(ns, family);
        const nf = await Netfilter.open({ backend: 'legacy', family, netns: ns.name, offload: false });
        const [table] = await nf.read(['filter']);
        // Flush through the tool, then commit the table as read: every rule is new (its text
        // parsed and built again, nothing kept).
        restore(ns, family, restoreText([]));
        expect(toolSave(ns, family).filter((l) => l.startsWith('-A'))).toEqual([]);
        const result = await nf.commit([table!]);
        expect(result).toMatchObject({ added: rules.length, kept: 0 });
        expect(toolSave(ns, family)).toEqual(expected);
        // (That the kernel then holds what the tool wrote, also where iptables-save's text is
        // lossy, is ext-oracle.test.ts's: both namespaces list the same.)
      }, 'iptkit-matches');
    });
  }
});
