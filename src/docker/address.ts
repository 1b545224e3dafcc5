// IPv4/IPv6 addresses and prefixes for the Docker model: parsing, the canonical text
// iptables-save prints (inet_ntop's form: lowercase, longest zero run as `::`), and
// prefix containment. Pure; no dependency on node:net so the rules stay byte-exact.

import type { Family } from '../rules/model.js';

export interface Address {
  family: Family;
  /** 4 bytes (IPv4) or 16 bytes (IPv6), network order. */
  bytes: Uint8Array;
}

export interface Prefix {
  addr: Address;
  length: number;
}

// IPv6 exactly as glibc's inet_pton/inet_ntop, which is what iptables-save prints.
/** inet_pton(AF_INET6): strict, with an optional trailing dotted quad. */
function parseIPv6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let head = text;
  let tail4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const quad = text.slice(lastColon + 1);
    const q = quad.split('.');
    if (q.length !== 4) return undefined;
    tail4 = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      if (!/^(0|[1-9][0-9]{0,2})$/.test(q[i]!) || Number(q[i]) > 255) return undefined;
      tail4[i] = Number(q[i]);
    }
    head = text.slice(0, lastColon + 1);
    // `::1.2.3.4` keeps its `::`; `64:ff9b::1:1.2.3.4` drops the separator before the quad.
    if (!head.endsWith('::') && head.endsWith(':')) head = head.slice(0, -1);
  }
  const words = tail4 ? 6 : 8;
  const dbl = head.indexOf('::');
  if (dbl !== head.lastIndexOf('::') && dbl !== -1) return undefined;
  const split = (s: string): string[] => (s === '' ? [] : s.split(':'));
  let groups: string[];
  if (dbl >= 0) {
    const left = split(head.slice(0, dbl));
    const right = split(head.slice(dbl + 2));
    const fill = words - left.length - right.length;
    if (fill < 1) return undefined;
    groups = [...left, ...Array<string>(fill).fill('0'), ...right];
  } else {
    groups = split(head);
    if (groups.length !== words) return undefined;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < words; i++) {
    const g = groups[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}

/** inet_ntop as glibc writes it: longest zero run (≥2 words) as `::`, embedded IPv4 forms. */
function formatIPv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    // ::a.b.c.d and ::ffff:a.b.c.d keep their dotted tail, as glibc prints them.
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      out += `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
      break;
    }
    out += w[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

// Four decimal parts, each 0-255 without leading zeros (inet_pton refuses them, and "010" is
// octal to some tools): exactly the text inet_ntop prints, so an address that passes is
// already canonical. By hand, as this runs for every address of a big state; `out` (when
// given) receives the bytes.
function scanIPv4(text: string, out?: Uint8Array): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 3 || value > 255) return false;
      if (out) out[part] = value;
      part++;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) return false;
      if (++digits > 3) return false;
      value = value * 10 + (c - 0x30);
    } else return false;
  }
  return part === 4;
}

/** Whether text is an IPv4 address in canonical form, checked without allocating. */
export function isIPv4Text(text: string): boolean {
  return scanIPv4(text);
}

function parseIPv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  return scanIPv4(text, out) ? out : undefined;
}

export function parseAddress(text: string): Address | undefined {
  const v4 = parseIPv4(text);
  if (v4) return { family: 'ipv4', bytes: v4 };
  const v6 = parseIPv6(text);
  if (v6) return { family: 'ipv6', bytes: v6 };
  return undefined;
}

/** The text inet_ntop (and so iptables-save) prints for an address. */
export function formatAddress(a: Address): string {
  const b = a.bytes;
  if (a.family === 'ipv4') return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  return formatIPv6(b);
}

/** Canonical text of an address given in any valid form; undefined when not an address. */
export function canonicalAddress(text: string): string | undefined {
  const a = parseAddress(text);
  return a ? formatAddress(a) : undefined;
}

export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseAddress(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!addr || !/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return undefined;
  const length = Number(lenText);
  if (length > addr.bytes.length * 8) return undefined;
  return { addr, length };
}

export function maskAddress(a: Address, length: number): Address {
  const out = new Uint8Array(a.bytes);
  for (let bit = length; bit < out.length * 8; bit++) {
    out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  }
  return { family: a.family, bytes: out };
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.addr)}/${p.length}`;
}

export function hostBitsSet(p: Prefix): boolean {
  return formatAddress(maskAddress(p.addr, p.length)) !== formatAddress(p.addr);
}

export function prefixContains(p: Prefix, a: Address): boolean {
  if (p.addr.family !== a.family) return false;
  // The first p.length bits agree (what comparing both masked addresses' texts tells).
  const full = p.length >> 3;
  for (let i = 0; i < full; i++) if (p.addr.bytes[i] !== a.bytes[i]) return false;
  const rest = p.length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (p.addr.bytes[full]! & mask) === (a.bytes[full]! & mask);
}

export function isUnspecified(a: Address): boolean {
  return a.bytes.every((x) => x === 0);
}

export function isLoopback(a: Address): boolean {
  if (a.family === 'ipv4') return a.bytes[0] === 127;
  return a.bytes.slice(0, 15).every((x) => x === 0) && a.bytes[15] === 1;
}

/** A single host as iptables-save prints a `-s`/`-d` host: `/32` or `/128` appended. */
export function hostCidr(a: string): string {
  if (isIPv4Text(a)) return `${a}/32`;
  const addr = parseAddress(a);
  if (!addr) throw new TypeError(`${JSON.stringify(a)} is not an IP address`);
  return `${formatAddress(addr)}/${addr.family === 'ipv4' ? 32 : 128}`;
}

export function familyOf(a: string): Family | undefined {
  return parseAddress(a)?.family;
}
