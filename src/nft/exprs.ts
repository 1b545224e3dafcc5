// Native expressions as nft 1.0.6 generates them for the phrases Docker's nftables back end
// writes (read off `nft --debug=netlink`): each builder gives the expressions of one nft phrase,
// so a rule is written as the phrases of its nft text. Docker's table (src/docker/nftabler.ts)
// and the object layer's tests are built from them.
import type { NftExpr } from './objects.js';
import { parseAddress } from '../docker/address.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** An interface name as meta iifname/oifname load it: 16 bytes, NUL padded. */
export function ifnameHex(name: string): string {
  const b = new Uint8Array(16);
  b.set(Buffer.from(name));
  return hex(b);
}

function ipBytes(text: string): Uint8Array {
  const a = parseAddress(text);
  if (!a) throw new TypeError(`${JSON.stringify(text)} is not an IP address`);
  return a.bytes;
}

const u32le = (n: number): string => hex(Uint8Array.of(n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24));
const be16 = (n: number): string => hex(Uint8Array.of(n >> 8, n & 255));

/** `iifname "x"` / `oifname != "x"`. */
export function ifname(dir: 'iifname' | 'oifname', name: string, op: 'eq' | 'neq' = 'eq'): NftExpr[] {
  return [{ expr: 'meta', key: dir, dreg: 1 }, { expr: 'cmp', sreg: 1, op, data: ifnameHex(name) }];
}

/** `iifname != { "a", "b" }`: a lookup, inverted (NFT_LOOKUP_F_INV), in the rule's anonymous set `set`. */
export function ifnameNotIn(dir: 'iifname' | 'oifname', set: string): NftExpr[] {
  return [{ expr: 'meta', key: dir, dreg: 1 }, { expr: 'lookup', sreg: 1, set, flags: 1 }];
}

/**
 * `ip daddr 1.2.3.4`, `ip saddr 10.0.0.0/24`, `ip6 saddr != fe80::/10`: nft loads only a
 * whole-byte prefix's bytes, and the whole address under a mask for any other prefix.
 */
export function addr(which: 'saddr' | 'daddr', cidr: string, op: 'eq' | 'neq' = 'eq'): NftExpr[] {
  const [a, l] = cidr.split('/') as [string, string | undefined];
  const b = ipBytes(a);
  const v6 = b.length === 16;
  const bits = l === undefined ? b.length * 8 : Number(l);
  const offset = v6 ? (which === 'saddr' ? 8 : 24) : which === 'saddr' ? 12 : 16;
  if (bits % 8 === 0) {
    return [
      { expr: 'payload', base: 'network', offset, len: bits / 8, dreg: 1 },
      { expr: 'cmp', sreg: 1, op, data: hex(b.subarray(0, bits / 8)) },
    ];
  }
  const mask = b.map((_, i) => (i < bits >> 3 ? 255 : i === bits >> 3 ? (0xff00 >> (bits & 7)) & 255 : 0));
  return [
    { expr: 'payload', base: 'network', offset, len: b.length, dreg: 1 },
    { expr: 'bitwise', sreg: 1, dreg: 1, len: b.length, mask: hex(mask), xor: hex(new Uint8Array(b.length)) },
    { expr: 'cmp', sreg: 1, op, data: hex(b.map((x, i) => x & mask[i]!)) },
  ];
}

/** IANA protocol numbers of the transport protocols Docker publishes. */
const PROTO_NUMBER = { tcp: 6, udp: 17, sctp: 132 } as const;

/** `tcp dport 80`, `udp sport 53`: the protocol as meta l4proto, then the port. */
export function port(proto: 'tcp' | 'udp' | 'sctp', which: 'sport' | 'dport', value: number): NftExpr[] {
  return [
    { expr: 'meta', key: 'l4proto', dreg: 1 },
    { expr: 'cmp', sreg: 1, op: 'eq', data: hex(Uint8Array.of(PROTO_NUMBER[proto])) },
    { expr: 'payload', base: 'transport', offset: which === 'sport' ? 0 : 2, len: 2, dreg: 1 },
    { expr: 'cmp', sreg: 1, op: 'eq', data: be16(value) },
  ];
}

/** `tcp dport 80`. */
export function dport(proto: 'tcp' | 'udp' | 'sctp', value: number): NftExpr[] {
  return port(proto, 'dport', value);
}

/** `ip protocol icmp`: the IPv4 header's protocol byte. */
export const ipProtocolIcmp: NftExpr[] = [
  { expr: 'payload', base: 'network', offset: 9, len: 1, dreg: 1 },
  { expr: 'cmp', sreg: 1, op: 'eq', data: '01' },
];

/** `meta l4proto ipv6-icmp`. */
export const l4protoIcmpv6: NftExpr[] = [
  { expr: 'meta', key: 'l4proto', dreg: 1 },
  { expr: 'cmp', sreg: 1, op: 'eq', data: '3a' },
];

/** `meta mark 1`, or with a mask `meta mark and 65280 == 256`. */
export function metaMark(mark: number, mask = 0xffffffff): NftExpr[] {
  return [
    { expr: 'meta', key: 'mark', dreg: 1 },
    ...(mask === 0xffffffff ? [] : [{ expr: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: u32le(mask), xor: u32le(0) } as NftExpr]),
    { expr: 'cmp', sreg: 1, op: 'eq', data: u32le(mark) },
  ];
}

/** `fib daddr type local` / `fib saddr type local` (NFTA_FIB_F_DADDR 2, SADDR 1; RTN_LOCAL 2). */
export function fibTypeLocal(which: 'saddr' | 'daddr'): NftExpr[] {
  return [
    { expr: 'fib', flags: which === 'daddr' ? 2 : 1, result: 'type', dreg: 1 },
    { expr: 'cmp', sreg: 1, op: 'eq', data: u32le(2) },
  ];
}

/** `fib daddr type local`. */
export const fibDaddrLocal: NftExpr[] = fibTypeLocal('daddr');

/** `ct state established,related`. */
export const ctEstablished: NftExpr[] = [
  { expr: 'ct', key: 'state', dreg: 1 },
  { expr: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: u32le(6), xor: u32le(0) },
  { expr: 'cmp', sreg: 1, op: 'neq', data: u32le(0) },
];

export const counter: NftExpr = { expr: 'counter' };
export const verdict = (v: 'accept' | 'drop' | 'return'): NftExpr => ({ expr: 'immediate', dreg: 0, verdict: v });
export const jump = (chain: string): NftExpr => ({ expr: 'immediate', dreg: 0, verdict: 'jump', chain });

/** `iifname vmap @m`. */
export function vmap(dir: 'iifname' | 'oifname', map: string): NftExpr[] {
  return [{ expr: 'meta', key: dir, dreg: 1 }, { expr: 'lookup', sreg: 1, dreg: 0, set: map }];
}

/** `dnat to 192.168.0.2:80` (IPv4) or `dnat to [fd00::2]:80`. */
export function dnat(to: string, toPort: number): NftExpr[] {
  const b = ipBytes(to);
  return [
    { expr: 'immediate', dreg: 1, data: hex(b) },
    { expr: 'immediate', dreg: 2, data: be16(toPort) },
    { expr: 'nat', type: 'dnat', family: b.length === 16 ? 'ip6' : 'ip', addrMin: 1, protoMin: 2, flags: 2 },
  ];
}

/** `snat to 192.168.123.0` (or an IPv6 address). */
export function snat(to: string): NftExpr[] {
  const b = ipBytes(to);
  return [
    { expr: 'immediate', dreg: 1, data: hex(b) },
    { expr: 'nat', type: 'snat', family: b.length === 16 ? 'ip6' : 'ip', addrMin: 1 },
  ];
}

export const masq: NftExpr = { expr: 'masq' };
