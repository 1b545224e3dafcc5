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

function parseIPv4(text: string): Uint8Array | undefined {
  // Four decimal parts, each 0-255 without leading zeros (inet_pton refuses them, and "010"
  // is octal to some tools); by hand, as this runs for every address of a big state.
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 3 || value > 255) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) return undefined;
      if (++digits > 3) return undefined;
      value = value * 10 + (c - 0x30);
    } else return undefined;
  }
  return part === 4 ? out : undefined;
}

function parseIPv6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const words: number[][] = [];
  for (const half of halves) {
    const ws: number[] = [];
    if (half !== '') {
      const groups = half.split(':');
      for (let i = 0; i < groups.length; i++) {
        const g = groups[i]!;
        if (g.includes('.')) {
          // An embedded IPv4 address may only be the last group (::ffff:1.2.3.4).
          if (i !== groups.length - 1 || half !== halves[halves.length - 1]) return undefined;
          const v4 = parseIPv4(g);
          if (!v4) return undefined;
          ws.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        } else {
          if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
          ws.push(parseInt(g, 16));
        }
      }
    }
    words.push(ws);
  }
  let all: number[];
  if (words.length === 2) {
    const fill = 8 - words[0]!.length - words[1]!.length;
    if (fill < 1) return undefined;
    all = [...words[0]!, ...new Array<number>(fill).fill(0), ...words[1]!];
  } else {
    all = words[0]!;
  }
  if (all.length !== 8) return undefined;
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
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
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  // glibc compresses the longest run of two or more zero words, the first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number): string => x.toString(16);
  if (bestLen < 2) return w.map(hex).join(':');
  const head = w.slice(0, bestStart).map(hex).join(':');
  const tail = w.slice(bestStart + bestLen).map(hex).join(':');
  return `${head}::${tail}`;
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
  const addr = parseAddress(a);
  if (!addr) throw new TypeError(`${JSON.stringify(a)} is not an IP address`);
  return `${formatAddress(addr)}/${addr.family === 'ipv4' ? 32 : 128}`;
}

export function familyOf(a: string): Family | undefined {
  return parseAddress(a)?.family;
}
