// The differential fuzzer's seed corpus: valid iptables-restore inputs, written for it, that
// between them use every extension iptkit has a module for (native/ext) and every restore
// command. Mutations start from these; the base is what each namespace holds before a case.

import type { Family } from '../../src/rules/model.js';

/** The tables a case may touch; the base names them all, so restoring it resets a namespace. */
export const TABLES = ['filter', 'nat', 'mangle', 'raw', 'security'] as const;

const BUILTIN: Record<(typeof TABLES)[number], string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** Rules held before every case, so that -n, -D, -I N and -R have something to act on. */
export function base(family: Family): string {
  const net = family === 'ipv4' ? '10.9.9.0/24' : '2001:db8:9::/48';
  const held: Record<string, string[]> = {
    filter: [':HELD - [0:0]', `-A INPUT -s ${net} -j HELD`, '-A INPUT -p tcp --dport 22 -j ACCEPT', '-A HELD -j RETURN'],
    nat: [`-A POSTROUTING -s ${net} -j MASQUERADE`],
  };
  return TABLES.map((t) => [`*${t}`, ...BUILTIN[t].map((c) => `:${c} ACCEPT [0:0]`), ...(held[t] ?? []), 'COMMIT', ''].join('\n')).join('');
}

const V4 = [
  `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:LOGDROP - [0:0]
:web-in - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 --tcp-flags SYN,RST,ACK SYN -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443,8000:8080 -j web-in
-A INPUT -p udp -m udp --sport 53 --dport 1024:65535 -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type echo-request -m limit --limit 5/sec --limit-burst 10 -j ACCEPT
-A INPUT -s 192.0.2.0/24 ! -d 198.51.100.7/32 -j LOGDROP
-A web-in -m comment --comment "web traffic" -j ACCEPT
-A LOGDROP -m limit --limit 3/min -j LOG --log-prefix "drop: " --log-level 4
-A LOGDROP -j DROP
-A FORWARD -o eth0 -m state --state NEW -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -p tcp ! --syn -j REJECT --reject-with tcp-reset
COMMIT
`,
  `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
-A DOCKER -p udp --dport 5353 -j DNAT --to-destination 172.17.0.3
-A OUTPUT -p tcp --dport 25 -j REDIRECT --to-ports 2525
-A POSTROUTING -o eth1 -p udp -j SNAT --to-source 203.0.113.5:1000-2000 --random
-A POSTROUTING -o eth2 -p tcp -j MASQUERADE --to-ports 3000-4000
COMMIT
`,
  `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -m mark --mark 0x0/0xff -j MARK --set-xmark 0x10/0xff
-A PREROUTING -m iprange --src-range 10.0.0.1-10.0.0.50 -j MARK --set-mark 7
-A FORWARD -p sctp -m sctp --dport 2905 -j MARK --or-mark 0x100
-A POSTROUTING -p udp --dport 68 -j CHECKSUM --checksum-fill
-A OUTPUT -m conntrack --ctstate NEW --ctproto tcp --ctorigdstport 443 -j MARK --and-mark 0xf
COMMIT
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp --dport 69 -j CT --helper tftp
-A PREROUTING -d 10.0.0.0/8 -j CT --zone 5
-A OUTPUT -o lo -j CT --notrack
COMMIT
`,
  `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-N extra
-A extra -p tcp --sport 1000:2000 -j ACCEPT
-I INPUT -j extra
-I INPUT 2 -p udp -j DROP
-R INPUT 2 -p udp --dport 7 -j DROP
-D INPUT -p udp --dport 7 -j DROP
-A OUTPUT -m mark ! --mark 0x1 -j ACCEPT
-P FORWARD DROP
-E extra renamed
-F OUTPUT
-Z INPUT
COMMIT
*security
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 80 -j ACCEPT
COMMIT
`,
  `*filter
-A INPUT -s 10.9.9.1 -j DROP
-I HELD -p icmp -j ACCEPT
-D INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
*nat
-A PREROUTING -d 10.0.0.1 -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080-8090
COMMIT
`,
];

const V6 = [
  `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:in6 - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s fe80::/10 -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 ! --icmpv6-type 1/3 -j in6
-A INPUT -m conntrack --ctstate ESTABLISHED --ctorigsrc fd00::/8 -j ACCEPT
-A INPUT -p tcp -m multiport --sports 80,443 -m comment --comment v6 -j ACCEPT
-A in6 -m limit --limit 10/sec -j LOG --log-prefix "v6 " --log-level 6
-A in6 -p tcp -j REJECT --reject-with tcp-reset
-A FORWARD -d 2001:db8::/32 -m iprange --src-range fd00::1-fd00::ff -j REJECT --reject-with icmp6-adm-prohibited
COMMIT
`,
  `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 2001:db8::1/128 -p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00::2]:8080
-A POSTROUTING -s fd00::/64 ! -o docker0 -j MASQUERADE
-A OUTPUT -p tcp --dport 25 -j REDIRECT --to-ports 2525
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -m addrtype --src-type LOCAL -j MARK --set-mark 3
COMMIT
`,
];

export function seeds(family: Family): readonly string[] {
  return family === 'ipv4' ? V4 : V6;
}
