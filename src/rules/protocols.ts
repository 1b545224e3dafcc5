// IP protocol names and numbers as iptables 1.8.9 reads (`-p`) and prints them (save, -L):
// /etc/protocols first, as getprotobyname/getprotobynumber see it, then libxtables' own table
// (xtables_chain_protos) for names the system file may lack. A copy of Debian's netbase file
// stands in when /etc/protocols is missing, so a container without netbase prints the same.

import { readFileSync } from 'node:fs';
import { ParseError } from '../errors.js';
import type { Family } from './model.js';
import { strtoui } from './address.js';

/** libxtables 1.8.9 xtables_chain_protos, in its order. */
const CHAIN_PROTOS: ReadonlyArray<readonly [string, number]> = [
  ['tcp', 6],
  ['sctp', 132],
  ['udp', 17],
  ['udplite', 136],
  ['icmp', 1],
  ['icmpv6', 58],
  ['ipv6-icmp', 58],
  ['esp', 50],
  ['ah', 51],
  ['ipv6-mh', 135],
  ['mh', 135],
  ['all', 0],
];

/** Debian netbase /etc/protocols (name, number, aliases), used only when the file is absent. */
const NETBASE =
  'ip 0 IP;hopopt 0 HOPOPT;icmp 1 ICMP;igmp 2 IGMP;ggp 3 GGP;ipencap 4 IP-ENCAP;st 5 ST;tcp 6 TCP;' +
  'egp 8 EGP;igp 9 IGP;pup 12 PUP;udp 17 UDP;hmp 20 HMP;xns-idp 22 XNS-IDP;rdp 27 RDP;' +
  'iso-tp4 29 ISO-TP4;dccp 33 DCCP;xtp 36 XTP;ddp 37 DDP;idpr-cmtp 38 IDPR-CMTP;ipv6 41 IPv6;' +
  'ipv6-route 43 IPv6-Route;ipv6-frag 44 IPv6-Frag;idrp 45 IDRP;rsvp 46 RSVP;gre 47 GRE;' +
  'esp 50 IPSEC-ESP;ah 51 IPSEC-AH;skip 57 SKIP;ipv6-icmp 58 IPv6-ICMP;ipv6-nonxt 59 IPv6-NoNxt;' +
  'ipv6-opts 60 IPv6-Opts;rspf 73 RSPF CPHB;vmtp 81 VMTP;eigrp 88 EIGRP;ospf 89 OSPFIGP;' +
  'ax.25 93 AX.25;ipip 94 IPIP;etherip 97 ETHERIP;encap 98 ENCAP;pim 103 PIM;ipcomp 108 IPCOMP;' +
  'vrrp 112 VRRP;l2tp 115 L2TP;isis 124 ISIS;sctp 132 SCTP;fc 133 FC;' +
  'mobility-header 135 Mobility-Header;udplite 136 UDPLite;mpls-in-ip 137 MPLS-in-IP;manet 138;' +
  'hip 139 HIP;shim6 140 Shim6;wesp 141 WESP;rohc 142 ROHC;ethernet 143 Ethernet;mptcp 262 MPTCP';

interface ProtocolDb {
  byName: Map<string, number>;
  byNumber: Map<number, string>;
}

let db: ProtocolDb | undefined;

function entries(text: string, sep: RegExp): Array<[string, number, string[]]> {
  const out: Array<[string, number, string[]]> = [];
  for (const raw of text.split(sep)) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [name, num, ...aliases] = line.split(/\s+/);
    const n = Number(num);
    if (!name || !Number.isInteger(n)) continue;
    out.push([name, n, aliases]);
  }
  return out;
}

function load(): ProtocolDb {
  if (db) return db;
  let list: Array<[string, number, string[]]>;
  try {
    list = entries(readFileSync('/etc/protocols', 'utf8'), /\n/);
  } catch {
    list = entries(NETBASE, /;/);
  }
  const byName = new Map<string, number>();
  const byNumber = new Map<number, string>();
  // getprotobyname/-bynumber return the first entry in file order.
  for (const [name, num, aliases] of list) {
    for (const n of [name, ...aliases]) if (!byName.has(n)) byName.set(n, num);
    if (!byNumber.has(num)) byNumber.set(num, name);
  }
  db = { byName, byNumber };
  return db;
}

/**
 * `-p` text → protocol number (0 = all), as iptables 1.8.9: lower-cased, then a number
 * (strtoul base 0, ≤255), `all`, /etc/protocols names and aliases, libxtables' table.
 */
const protocolCache = new Map<string, number>();

export function parseProtocol(text: string, _family?: Family): number {
  let n = protocolCache.get(text);
  if (n === undefined) {
    n = lookupProtocol(text);
    if (protocolCache.size > 10_000) protocolCache.clear();
    protocolCache.set(text, n);
  }
  return n;
}

function lookupProtocol(text: string): number {
  const lower = text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const n = strtoui(lower, 255);
  if (n !== undefined) return n;
  if (lower === 'all') return 0;
  const fromDb = load().byName.get(lower);
  if (fromDb !== undefined && fromDb <= 255) return fromDb;
  for (const [name, num] of CHAIN_PROTOS) if (name === lower) return num;
  throw new ParseError(`unknown protocol "${lower}" specified`, { token: text, expected: 'a protocol name or number 0-255' });
}

/**
 * Protocol number → the name iptables-save and `iptables -L` print (proto_to_name without
 * nolookup), or undefined when only the number can be printed.
 */
export function protocolName(num: number): string | undefined {
  if (num !== 0) {
    const name = load().byNumber.get(num);
    if (name !== undefined) return name;
  }
  for (const [name, n] of CHAIN_PROTOS) if (n === num) return name;
  return undefined;
}

/** The name or, failing that, the decimal number. */
export function protocolText(num: number): string {
  return protocolName(num) ?? String(num);
}

/**
 * The match module `-p NAME` loads implicitly when an unknown option follows (iptables'
 * load_proto): the user's name, or for a number the name it prints as. ip6tables calls the
 * ICMPv6 match icmp6 whatever the protocol was called.
 */
export function implicitMatchNames(text: string, family: Family): string[] {
  const lower = text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const n = strtoui(lower, 255);
  const name = n !== undefined ? protocolName(n) : lower;
  if (name === undefined) return [];
  if (family === 'ipv6' && (name === 'icmpv6' || name === 'ipv6-icmp' || name === 'icmp6')) {
    return ['icmp6', 'icmpv6', 'ipv6-icmp'];
  }
  return [name];
}

/** ip6tables: extension headers are never the transport protocol, so `-p` on them only warns. */
export const IPV6_EXTENSION_HEADERS: ReadonlySet<number> = new Set([0, 43, 44, 51, 60]);
