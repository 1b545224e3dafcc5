// The NAT range shared by DNAT, SNAT, MASQUERADE and REDIRECT: parsing `--to-destination`,
// `--to-source` and `--to-ports` as iptables 1.8.9 does (libxt_NAT), the codec fields, and the
// text iptables prints for them. Also the address and port helpers that needs: a strict IPv4
// inet_pton (IPv6 comes from ../address.ts; the fields hold glibc's inet_ntop form) and
// /etc/services.
//
// Fields (native/ext/nf_nat_range.h, the same for every revision and family):
//   flags=N            NF_NAT_RANGE_* bits below
//   min_addr=ADDR      inet_ntop form ('0.0.0.0' / '::' when no address is mapped)
//   max_addr=ADDR
//   min_proto=PORT     decimal
//   max_proto=PORT
//   base_proto=PORT    struct nf_nat_range2 only (DNAT revision 2)
//   rangesize=N        IPv4 revision 0 only, present only when not 1

import { readFileSync } from 'node:fs';
import type { Family, Fields } from '../model.js';
import { formatIPv6, parseIPv6 } from '../address.js';
import type { ParseContext } from './types.js';
import { num, parseUnsignedPrefix } from './target-util.js';

export const NF_NAT_RANGE_MAP_IPS = 1 << 0;
export const NF_NAT_RANGE_PROTO_SPECIFIED = 1 << 1;
export const NF_NAT_RANGE_PROTO_RANDOM = 1 << 2;
export const NF_NAT_RANGE_PERSISTENT = 1 << 3;
export const NF_NAT_RANGE_PROTO_RANDOM_FULLY = 1 << 4;
export const NF_NAT_RANGE_PROTO_OFFSET = 1 << 5;

export interface NatRange {
  flags: number;
  /** inet_ntop form; the family's zero address when not mapped. */
  minAddr: string;
  maxAddr: string;
  minProto: number;
  maxProto: number;
  baseProto: number;
}

export function emptyRange(family: Family): NatRange {
  const zero = family === 'ipv6' ? '::' : '0.0.0.0';
  return { flags: 0, minAddr: zero, maxAddr: zero, minProto: 0, maxProto: 0, baseProto: 0 };
}

/** The codec's fields for a range; `withBase` for struct nf_nat_range2. */
export function rangeFields(r: NatRange, withBase: boolean): Fields {
  const f: Fields = {
    flags: String(r.flags >>> 0),
    min_addr: r.minAddr,
    max_addr: r.maxAddr,
    min_proto: String(r.minProto),
    max_proto: String(r.maxProto),
  };
  if (withBase) f['base_proto'] = String(r.baseProto);
  return f;
}

export function rangeFromFields(f: Fields, family: Family): NatRange {
  const zero = family === 'ipv6' ? '::' : '0.0.0.0';
  return {
    flags: num(f['flags']),
    minAddr: f['min_addr'] ?? zero,
    maxAddr: f['max_addr'] ?? zero,
    minProto: num(f['min_proto']),
    maxProto: num(f['max_proto']),
    baseProto: num(f['base_proto']),
  };
}

/** Protocols whose port a NAT target may map (libxt_NAT's `portok`; it does include ICMP). */
export function portsAllowed(ctx: ParseContext): boolean {
  return ctx.protocol !== undefined && [6, 17, 132, 33, 1].includes(ctx.protocol);
}

/** parse_ports: `PORT`, `PORT-PORT` or `PORT-PORT/BASE`, into `r`. */
export function parsePorts(arg: string, ctx: ParseContext, token: string, r: NatRange): void {
  if (!portsAllowed(ctx)) {
    ctx.fail(`${token} ${arg}: need -p tcp, udp, sctp or dccp with a port specification`, token, '-p tcp|udp|sctp|dccp');
  }
  r.flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
  let port: number;
  let rest: string;
  const first = parseUnsignedPrefix(arg);
  if (first && first.value <= 0xffff) {
    port = first.value;
    rest = first.rest;
  } else {
    const svc = serviceToPort(arg);
    if (svc === undefined) ctx.fail(`${token}: port \`${arg}' not valid (0-65535 or a service name)`, token, 'a port');
    port = svc;
    rest = '';
  }
  if (rest === '') {
    r.minProto = r.maxProto = port;
    return;
  }
  if (rest[0] === ':') ctx.fail(`${token}: invalid port:port syntax in \`${arg}' - use dash`, token, 'PORT-PORT');
  if (rest[0] !== '-') ctx.fail(`${token}: garbage after port value: \`${rest}'`, token);
  const maxArg = rest.slice(1);
  const second = parseUnsignedPrefix(maxArg);
  if (!second || second.value > 0xffff) ctx.fail(`${token}: port \`${maxArg}' not valid`, token, 'a port');
  if (second.value < port) ctx.fail(`${token}: port range \`${arg}' is reversed`, token, 'LOW-HIGH');
  r.minProto = port;
  r.maxProto = second.value;
  if (second.rest === '') return;
  if (second.rest[0] !== '/') ctx.fail(`${token}: garbage after port range: \`${second.rest}'`, token);
  const baseArg = second.rest.slice(1);
  const base = parseUnsignedPrefix(baseArg);
  let baseport: number;
  if (base && base.rest === '' && base.value >= 1 && base.value <= 0xffff) {
    baseport = base.value;
  } else {
    const svc = serviceToPort(baseArg);
    if (svc === undefined) ctx.fail(`${token}: port \`${baseArg}' not valid (1-65535 or a service name)`, token, 'a port');
    baseport = svc;
  }
  r.flags |= NF_NAT_RANGE_PROTO_OFFSET;
  r.baseProto = baseport;
}

/** parse_to: `[ADDR[-ADDR]][:PORT[-PORT[/BASE]]]`, IPv6 with an optional `[…]` around the addresses. */
export function parseTo(arg: string, family: Family, ctx: ParseContext, token: string, r: NatRange): void {
  let start: string;
  let portPart: string | undefined;
  let onlyPorts = false;
  const open = arg.indexOf('[');
  if (open < 0) {
    // One colon is a port; more mean an IPv6 address without one.
    const colon = arg.indexOf(':');
    const portColon = colon >= 0 && arg.indexOf(':', colon + 1) < 0 ? colon : -1;
    if (portColon >= 0) {
      portPart = arg.slice(portColon + 1);
      onlyPorts = portColon === 0;
      start = arg.slice(0, portColon);
    } else {
      start = arg;
    }
  } else {
    const close = arg.indexOf(']', open + 1);
    if (close < 0 || family === 'ipv4') ctx.fail(`${token} ${arg}: invalid address format`, token, 'ADDR[-ADDR][:PORT[-PORT]]');
    start = arg.slice(open + 1, close);
    const colon = arg.indexOf(':', close + 1);
    if (colon >= 0) {
      portPart = arg.slice(colon + 1);
      // `[]:port` maps no address, like `:port`.
      onlyPorts = colon === 2;
    }
  }
  if (portPart !== undefined) {
    parsePorts(portPart, ctx, token, r);
    if (onlyPorts) return;
  }
  r.flags |= NF_NAT_RANGE_MAP_IPS;
  const dash = start.indexOf('-');
  const lo = dash >= 0 ? start.slice(0, dash) : start;
  const min = canonicalAddress(family, lo);
  if (min === undefined) ctx.fail(`${token}: bad IP address "${lo}"`, token, family === 'ipv6' ? 'an IPv6 address' : 'an IPv4 address');
  r.minAddr = min;
  if (dash >= 0) {
    const hiText = start.slice(dash + 1);
    const max = canonicalAddress(family, hiText);
    if (max === undefined) ctx.fail(`${token}: bad IP address "${hiText}"`, token, family === 'ipv6' ? 'an IPv6 address' : 'an IPv4 address');
    r.maxAddr = max;
  } else {
    r.maxAddr = min;
  }
}

/** sprint_range: the range as iptables prints it (`172.19.0.2:443`, `[fd00::2]:443`, `:80-90/100`). */
export function formatRange(r: NatRange, family: Family): string {
  const brackets = family === 'ipv6' && (r.flags & NF_NAT_RANGE_PROTO_SPECIFIED) !== 0;
  let s = '';
  if (r.flags & NF_NAT_RANGE_MAP_IPS) {
    if (brackets) s += '[';
    s += r.minAddr;
    if (r.minAddr !== r.maxAddr) s += `-${r.maxAddr}`;
    if (brackets) s += ']';
  }
  if (r.flags & NF_NAT_RANGE_PROTO_SPECIFIED) {
    s += `:${r.minProto}`;
    if (r.maxProto !== r.minProto) s += `-${r.maxProto}`;
    if (r.flags & NF_NAT_RANGE_PROTO_OFFSET) s += `/${r.baseProto}`;
  }
  return s;
}

/**
 * __NAT_print: the range after `rangeopt` and the flag words, each prefixed by `flagPrefix`
 * (`--` for save, nothing for the listing). `skipColon` drops the colon of a ports-only range
 * (MASQUERADE, REDIRECT). Words joined by one space, no leading space.
 */
export function formatNat(r: NatRange, family: Family, rangeopt: string, flagPrefix: string, skipColon: boolean): string {
  const parts: string[] = [];
  let range = formatRange(r, family);
  if (range !== '') {
    if (skipColon && range.startsWith(':')) range = range.slice(1);
    parts.push(rangeopt + range);
  }
  if (r.flags & NF_NAT_RANGE_PROTO_RANDOM) parts.push(`${flagPrefix}random`);
  if (r.flags & NF_NAT_RANGE_PROTO_RANDOM_FULLY) parts.push(`${flagPrefix}random-fully`);
  if (r.flags & NF_NAT_RANGE_PERSISTENT) parts.push(`${flagPrefix}persistent`);
  return parts.join(' ');
}

// ---- addresses: the inet_pton / inet_ntop pair the C++ side uses ----

/** inet_pton(AF_INET): exactly four decimal parts 0..255, no leading zeros. */
export function parseIPv4(text: string): number[] | undefined {
  // By hand, as split('.') and /^(0|[1-9][0-9]{0,2})$/ on each part would accept: every
  // DNAT/SNAT rule parses its address here.
  const out: number[] = [];
  const n = text.length;
  let i = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= n || text.charCodeAt(i) !== 0x2e) return undefined;
      i++;
    }
    const start = i;
    let v = 0;
    while (i < n && i - start < 4) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || (len > 1 && text.charCodeAt(start) === 0x30) || v > 255) return undefined;
    out.push(v);
  }
  return i === n ? out : undefined;
}

/** The address in the form the C++ codec writes it (inet_ntop of inet_pton), or undefined. */
export function canonicalAddress(family: Family, text: string): string | undefined {
  if (family === 'ipv4') return parseIPv4(text)?.join('.');
  const b = parseIPv6(text);
  return b ? formatIPv6(b) : undefined;
}

// ---- services: getservbyname(name, NULL) over /etc/services ----

let services: Map<string, number> | undefined;

/** The port of a service name as getservbyname(name, NULL) gives it, or undefined. */
export function serviceToPort(name: string): number | undefined {
  if (!services) {
    services = new Map();
    let text = '';
    try {
      text = readFileSync('/etc/services', 'utf8');
    } catch {
      // No services database: only numeric ports are valid, as with glibc.
    }
    for (const line of text.split('\n')) {
      const fields = line.replace(/#.*/, '').trim().split(/\s+/);
      const m = fields.length >= 2 ? /^(\d+)\/\w+$/.exec(fields[1]!) : null;
      if (!m) continue;
      const port = Number(m[1]);
      for (const n of [fields[0]!, ...fields.slice(2)]) if (!services.has(n)) services.set(n, port);
    }
  }
  return services.get(name);
}
