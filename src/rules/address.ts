// Addresses, masks and interface names as iptables 1.8.9 reads and prints them: the canonical
// Cidr of the rule model, the ADDR/MASK form of the wire, the `-s`/`-d` text of iptables-save
// and the source/destination columns of `iptables -L`. No DNS, ever: iptables would resolve a
// hostname here; iptkit refuses it with an error that says so.

import { ParseError } from '../errors.js';
import type { Cidr, Family } from './model.js';

/** IFNAMSIZ - 1: the longest interface name the kernel stores. */
export const IFNAMSIZ = 16;

const BYTES: Record<Family, number> = { ipv4: 4, ipv6: 16 };

/**
 * strtoul(s, &end, 0) that must consume the whole string, bounded by max (xtables_strtoui):
 * leading blanks, a sign, 0x hex and 0 octal are accepted; a minus is only harmless on zero.
 */
export function strtoui(text: string, max: number): number | undefined {
  // Fast path: plain decimal without a leading zero (what nearly every port and number is).
  const n = text.length;
  if (n === 1 && text.charCodeAt(0) === 0x30) return 0;
  if (n > 0 && n < 10) {
    let c = text.charCodeAt(0);
    if (c >= 0x31 && c <= 0x39) {
      let v = c - 0x30;
      let k = 1;
      for (; k < n; k++) {
        c = text.charCodeAt(k);
        if (c < 0x30 || c > 0x39) break;
        v = v * 10 + (c - 0x30);
      }
      if (k === n) return v <= max ? v : undefined;
    }
  }
  const m = /^[\t\n\v\f\r ]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  const digits = m[2]!;
  const value = /^0[xX]/.test(digits)
    ? parseInt(digits.slice(2), 16)
    : digits.length > 1 && digits[0] === '0'
      ? parseInt(digits, 8)
      : parseInt(digits, 10);
  if (m[1] === '-' && value !== 0) return undefined; // wraps to ULONG_MAX - n + 1 > max
  return value <= max ? value : undefined;
}

/** Dotted IPv4 as xtables parses it: fewer than four parts autocomplete with zeros (`10.1`). */
function parseDottedV4(text: string, isMask: boolean): Uint8Array | undefined {
  const out = new Uint8Array(4);
  const parts = text.split('.');
  if (parts.length > 4) return undefined;
  if (parts.length < 4 && isMask) return undefined;
  for (let i = 0; i < parts.length; i++) {
    const v = strtoui(parts[i]!, 255);
    if (v === undefined) return undefined;
    out[i] = v;
  }
  return out;
}

/** inet_pton(AF_INET6): strict, with an optional trailing dotted quad. */
export function parseIPv6(text: string): Uint8Array | undefined {
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
export function formatIPv6(b: Uint8Array): string {
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

function formatAddr(b: Uint8Array, family: Family): string {
  return family === 'ipv4' ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : formatIPv6(b);
}

function parseAddr(text: string, family: Family): Uint8Array | undefined {
  return family === 'ipv4' ? parseDottedV4(text, false) : parseIPv6(text);
}

/** The prefix length of a contiguous mask, or -1 (xtables_ipmask_to_cidr). */
export function maskToPrefix(mask: Uint8Array): number {
  let bits = 0;
  let i = 0;
  for (; i < mask.length && mask[i] === 0xff; i++) bits += 8;
  if (i < mask.length) {
    const m = mask[i]!;
    let k = 0;
    while (k < 8 && m & (0x80 >> k)) k++;
    if ((m & (0xff >> k)) !== 0) return -1;
    bits += k;
    for (i++; i < mask.length; i++) if (mask[i] !== 0) return -1;
  }
  return bits;
}

export function prefixToMask(bits: number, family: Family): Uint8Array {
  const mask = new Uint8Array(BYTES[family]);
  for (let i = 0; i < mask.length; i++) {
    const n = Math.max(0, Math.min(8, bits - i * 8));
    mask[i] = (0xff00 >> n) & 0xff;
  }
  return mask;
}

export interface AddressMask {
  addr: Uint8Array;
  mask: Uint8Array;
}

function fail(message: string, token: string, expected: string): never {
  throw new ParseError(message, { token, expected });
}

/** `-s`/`-d` text → address and mask, host bits cleared (xtables_ipparse_any / ip6parse_any). */
export function parseAddressMask(text: string, family: Family): AddressMask {
  if (text.includes(',')) {
    fail(`address lists are not supported (iptables would add one rule per address): \`${text}'`, text, 'one address');
  }
  const slash = text.lastIndexOf('/');
  const addrText = slash >= 0 ? text.slice(0, slash) : text;
  const maskText = slash >= 0 ? text.slice(slash + 1) : undefined;
  const size = BYTES[family];
  const maxBits = size * 8;
  let mask: Uint8Array;
  if (maskText === undefined) {
    mask = prefixToMask(maxBits, family);
  } else {
    const isDotted = family === 'ipv4' ? maskText.includes('.') : maskText.includes(':');
    const parsed = isDotted
      ? family === 'ipv4'
        ? parseDottedV4(maskText, true)
        : parseIPv6(maskText)
      : (() => {
          const bits = strtoui(maskText, maxBits);
          return bits === undefined ? undefined : prefixToMask(bits, family);
        })();
    if (!parsed) fail(`invalid mask \`${maskText}' specified`, text, family === 'ipv4' ? 'a prefix length 0-32 or a dotted mask' : 'a prefix length 0-128 or an IPv6 mask');
    mask = parsed;
  }
  // A zero mask matches everything: iptables does not even look at the address then.
  if (mask.every((b) => b === 0)) return { addr: new Uint8Array(size), mask };
  const addr = parseAddr(addrText, family);
  if (!addr) {
    const looksLikeName = /[g-zG-Z_]/.test(addrText) || (family === 'ipv4' && /[a-fA-F]/.test(addrText) && !/^0[xX]/.test(addrText));
    fail(
      looksLikeName
        ? `host/network \`${addrText}' is a name: iptkit does no DNS, give a numeric ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`
        : `host/network \`${addrText}' is not a valid ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`,
      text,
      family === 'ipv4' ? 'an IPv4 address like 10.0.0.0/8' : 'an IPv6 address like fd00::/64',
    );
  }
  for (let i = 0; i < size; i++) addr[i] = addr[i]! & mask[i]!;
  return { addr, mask };
}

/** Canonical model form: `10.0.0.1/32`, `10.0.0.0/8`, `10.0.0.0/255.0.255.0`, `fd00::/64`. */
export function formatCidr(am: AddressMask, family: Family): Cidr {
  const bits = maskToPrefix(am.mask);
  return `${formatAddr(am.addr, family)}/${bits >= 0 ? bits : formatAddr(am.mask, family)}`;
}

/** Parses `-s`/`-d` text into the canonical Cidr (host bits cleared, `/32` added). */
const cidrCache: Record<Family, Map<string, Cidr>> = { ipv4: new Map(), ipv6: new Map() };

export function parseCidr(text: string, family: Family): Cidr {
  // The same addresses repeat across a rule set: remember what parsed (errors are not kept).
  const cache = cidrCache[family];
  let hit = cache.get(text);
  if (hit === undefined) {
    hit = formatCidr(parseAddressMask(text, family), family);
    if (cache.size > 100_000) cache.clear();
    cache.set(text, hit);
  }
  return hit;
}

/** A canonical Cidr back to bytes. Throws on text that is not canonical-parsable. */
export function cidrToAddressMask(cidr: Cidr, family: Family): AddressMask {
  return parseAddressMask(cidr, family);
}

/** True when the Cidr matches every address (`0.0.0.0/0`, `::/0`). */
export function isAnyCidr(cidr: Cidr): boolean {
  return cidr.endsWith('/0');
}

/** iptables-save prints the canonical form itself (`-s 10.0.0.1/32`). */
export function formatCidrSave(cidr: Cidr): string {
  return cidr;
}

/**
 * The source/destination column of `iptables -L`: `anywhere` for a zero mask unless numeric,
 * otherwise the address, with `/N` (or `/MASK`) unless the mask is the full host mask.
 * Without -n iptables looks up host and network names; iptkit does no DNS and prints the
 * number instead.
 */
export function formatCidrListing(cidr: Cidr | undefined, family: Family, numeric: boolean): string {
  if (cidr === undefined || isAnyCidr(cidr)) {
    if (!numeric) return 'anywhere';
    return family === 'ipv4' ? '0.0.0.0/0' : '::/0';
  }
  const slash = cidr.lastIndexOf('/');
  const suffix = cidr.slice(slash + 1);
  if (suffix === (family === 'ipv4' ? '32' : '128')) return cidr.slice(0, slash);
  return cidr;
}

let maskPrefix: Record<Family, Map<string, number>> | undefined;

/** inet_ntop form of every prefix mask → its length, so the hot path is one map lookup. */
function prefixByMask(family: Family): Map<string, number> {
  if (!maskPrefix) {
    maskPrefix = { ipv4: new Map(), ipv6: new Map() };
    for (let b = 0; b <= 32; b++) maskPrefix.ipv4.set(formatAddr(prefixToMask(b, 'ipv4'), 'ipv4'), b);
    for (let b = 0; b <= 128; b++) maskPrefix.ipv6.set(formatAddr(prefixToMask(b, 'ipv6'), 'ipv6'), b);
  }
  return maskPrefix[family];
}

/**
 * Wire `ADDR/MASK` (both inet_ntop form) → canonical Cidr. The kernel keeps host bits
 * cleared and C++ writes inet_ntop text, so the address is already canonical: only the mask
 * needs turning into a prefix length (a non-prefix mask stays as it is).
 */
export function cidrFromWire(value: string, family: Family): Cidr {
  const slash = value.indexOf('/');
  if (slash < 0) throw new Error(`wire: address without mask: ${value}`);
  const mask = value.slice(slash + 1);
  const bits = prefixByMask(family).get(mask);
  return bits === undefined ? value : value.slice(0, slash + 1) + bits;
}

const toWireCache = new Map<string, string>();

/** Canonical Cidr → wire `ADDR/MASK` (`10.0.0.0/255.0.0.0`, `fd00::/ffff:ffff::`). */
export function cidrToWire(cidr: Cidr, family: Family): string {
  const key = family === 'ipv4' ? cidr : '6' + cidr;
  let hit = toWireCache.get(key);
  if (hit === undefined) {
    const am = parseAddressMask(cidr, family);
    hit = `${formatAddr(am.addr, family)}/${formatAddr(am.mask, family)}`;
    if (toWireCache.size > 100_000) toWireCache.clear();
    toWireCache.set(key, hit);
  }
  return hit;
}

/**
 * Checks `-i`/`-o` text as xtables_parse_interface does: at most 15 bytes, not empty; a
 * trailing `+` matches every name with that prefix. `/` and space draw a warning from
 * iptables (the kernel never names an interface so) but are accepted, so they are here too.
 */
export function parseInterface(text: string): string {
  if (text === '') fail('Empty interface is likely to be undesired', text, 'an interface name');
  if (Buffer.byteLength(text) >= IFNAMSIZ) {
    fail(`interface name \`${text}' must be shorter than IFNAMSIZ (${IFNAMSIZ - 1})`, text, 'at most 15 bytes');
  }
  return text;
}
