// The `conntrack` match, revision 3 (kernel xt_conntrack_mtinfo3), and `-m state`, which
// iptables 1.8.9 writes as the same struct with XT_CONNTRACK_STATE_ALIAS set (so the kernel
// sees conntrack rev 3 and iptables-save prints `-m state --state …`). A `state` rev 0 match
// (xt_state_info) written by older tools is printed by stateV0.
//
// Fields (native/ext/xt_conntrack.cc), in this order; match_flags and invert_flags always,
// each group when its match_flags bit is set (or its bytes are not zero):
//   match_flags=N invert_flags=N   STATE=1 PROTO=2 ORIGSRC=4 ORIGDST=8 REPLSRC=16 REPLDST=32
//                                  STATUS=64 EXPIRES=128 ORIGSRC_PORT=256 ORIGDST_PORT=512
//                                  REPLSRC_PORT=1024 REPLDST_PORT=2048 DIRECTION=4096
//                                  STATE_ALIAS=8192
//   state_mask=N                   INVALID=1 ESTABLISHED=2 RELATED=4 NEW=8 SNAT=64 DNAT=128
//                                  UNTRACKED=256
//   l4proto=N
//   origsrc_addr=A [origsrc_addr_tail=HEX] origsrc_mask=M [origsrc_mask_tail=HEX]
//   origdst_… replsrc_… repldst_…  (same shape; IPv4 tails are bytes 4..15 of the union, sent
//                                  only when not zero: iptables sets a host address's mask
//                                  to all-ones over all 16 bytes)
//   status_mask=N                  EXPECTED=1 SEEN_REPLY=2 ASSURED=4 CONFIRMED=8
//   expires_min=N expires_max=N
//   origsrc_port=N origsrc_port_high=N … (host byte order)
// DIRECTION carries no data: set alone is ORIGINAL, set and inverted is REPLY.
// Fields of the state rev 0 match (native/ext/xt_state.cc): statemask=N
//   (INVALID=1 ESTABLISHED=2 RELATED=4 NEW=8 UNTRACKED=16).

import { formatIPv6, maskToPrefix, parseIPv6, strtoui } from '../address.js';
import type { Family, Fields, Match } from '../model.js';
import { parseProtocol } from '../protocols.js';
import { ParseError } from '../../errors.js';
import { arg, noInvert, num, once } from './common.js';
import { canonicalAddress } from './iprange.js';
import { parsePort } from './ports.js';
import type { MatchExtension, ParseContext, ParsedOption, PrintContext } from './types.js';

export const XT_CONNTRACK = {
  STATE: 1 << 0,
  PROTO: 1 << 1,
  ORIGSRC: 1 << 2,
  ORIGDST: 1 << 3,
  REPLSRC: 1 << 4,
  REPLDST: 1 << 5,
  STATUS: 1 << 6,
  EXPIRES: 1 << 7,
  ORIGSRC_PORT: 1 << 8,
  ORIGDST_PORT: 1 << 9,
  REPLSRC_PORT: 1 << 10,
  REPLDST_PORT: 1 << 11,
  DIRECTION: 1 << 12,
  STATE_ALIAS: 1 << 13,
} as const;

// Input order (libxt_conntrack's parser tries them in this order, prefix and case-insensitive).
const CT_STATES: readonly (readonly [string, number])[] = [
  ['INVALID', 1],
  ['NEW', 8],
  ['ESTABLISHED', 2],
  ['RELATED', 4],
  ['UNTRACKED', 256],
  ['SNAT', 64],
  ['DNAT', 128],
];
// Print order.
const CT_STATE_PRINT = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];
const CT_STATE_BIT = new Map(CT_STATES);

// `-m state` knows only these; rev 0's statemask puts UNTRACKED at bit 4.
const STATE_STATES = CT_STATES.filter(([n]) => n !== 'SNAT' && n !== 'DNAT');

const CT_STATUS: readonly (readonly [string, number])[] = [
  ['NONE', 0],
  ['EXPECTED', 1],
  ['SEEN_REPLY', 2],
  ['ASSURED', 4],
  ['CONFIRMED', 8],
];

function parseNames(
  text: string,
  table: readonly (readonly [string, number])[],
  what: string,
  ctx: ParseContext,
  token: string,
): number {
  let mask = 0;
  for (const item of text.split(',')) {
    const lower = item.toLowerCase();
    const hit = item === '' ? undefined : table.find(([n]) => n.toLowerCase().startsWith(lower));
    if (!hit) ctx.fail(`Bad ${what} "${text}"`, token, table.map(([n]) => n).join(','));
    mask |= hit[1];
  }
  return mask;
}

function stateText(mask: number): string {
  return CT_STATE_PRINT.filter((n) => mask & CT_STATE_BIT.get(n)!).join(',');
}

function statusText(mask: number): string {
  const names = CT_STATUS.filter(([, bit]) => bit && mask & bit).map(([n]) => n);
  return mask === 0 ? 'NONE' : names.join(',');
}

interface AddrOpt {
  option: string;
  flag: number;
  key: string;
}
const ADDRS: readonly AddrOpt[] = [
  { option: 'ctorigsrc', flag: XT_CONNTRACK.ORIGSRC, key: 'origsrc' },
  { option: 'ctorigdst', flag: XT_CONNTRACK.ORIGDST, key: 'origdst' },
  { option: 'ctreplsrc', flag: XT_CONNTRACK.REPLSRC, key: 'replsrc' },
  { option: 'ctrepldst', flag: XT_CONNTRACK.REPLDST, key: 'repldst' },
];
const PORTS: readonly AddrOpt[] = [
  { option: 'ctorigsrcport', flag: XT_CONNTRACK.ORIGSRC_PORT, key: 'origsrc_port' },
  { option: 'ctorigdstport', flag: XT_CONNTRACK.ORIGDST_PORT, key: 'origdst_port' },
  { option: 'ctreplsrcport', flag: XT_CONNTRACK.REPLSRC_PORT, key: 'replsrc_port' },
  { option: 'ctrepldstport', flag: XT_CONNTRACK.REPLDST_PORT, key: 'repldst_port' },
];
const ALL_ONES_TAIL = 'FF'.repeat(12);

function prefixMask(bits: number, family: Family): string {
  const size = family === 'ipv4' ? 4 : 16;
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (0xff00 >> Math.max(0, Math.min(8, bits - i * 8))) & 0xff;
  return family === 'ipv4' ? b.join('.') : formatIPv6(b);
}

/**
 * XTTYPE_HOSTMASK: ADDR or ADDR/PREFIX. The address keeps its host bits (iptables does not
 * clear them); without a prefix the mask is all-ones over the whole 16-byte union.
 */
function parseHostMask(text: string, family: Family, ctx: ParseContext, token: string): Fields {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = canonicalAddress(addrText, family);
  if (addr === undefined) {
    ctx.fail(
      `host/network \`${addrText}' is not a numeric ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address (iptkit does no DNS)`,
      token,
      family === 'ipv4' ? 'ADDR[/PREFIX] like 10.0.0.0/8' : 'ADDR[/PREFIX] like fd00::/64',
    );
  }
  const max = family === 'ipv4' ? 32 : 128;
  if (slash < 0) {
    return family === 'ipv4'
      ? { addr, mask: '255.255.255.255', mask_tail: ALL_ONES_TAIL }
      : { addr, mask: prefixMask(128, family) };
  }
  const bits = strtoui(text.slice(slash + 1), max);
  if (bits === undefined) ctx.fail(`invalid mask \`${text.slice(slash + 1)}' specified`, token, `a prefix length 0-${max}`);
  return { addr, mask: prefixMask(bits, family) };
}

function parseUintRange(text: string, max: number, ctx: ParseContext, token: string, parse: (s: string) => number | undefined): [number, number] {
  const colon = text.indexOf(':');
  const a = parse(colon < 0 ? text : text.slice(0, colon));
  const b = colon < 0 ? a : parse(text.slice(colon + 1));
  if (a === undefined || b === undefined) ctx.fail(`conntrack: bad value for option "${token}", or out of range (0-${max}): \`${text}'`, token, `N or N:M, 0-${max}`);
  return [a, b];
}

function build(options: readonly ParsedOption[], ctx: ParseContext): Fields {
  once(options, ctx, 'conntrack');
  if (options.length === 0) ctx.fail('conntrack: At least one option is required', '-m conntrack', 'a --ct… option');
  let flags = 0;
  let inv = 0;
  let stateMask: number | undefined;
  let proto: number | undefined;
  let status: number | undefined;
  let expires: [number, number] | undefined;
  const addrs = new Map<string, Fields>();
  const ports = new Map<string, [number, number]>();
  for (const o of options) {
    const a = ADDRS.find((x) => x.option === o.name);
    const p = PORTS.find((x) => x.option === o.name);
    if (a) {
      addrs.set(a.key, parseHostMask(arg(o, ctx), ctx.family, ctx, o.token));
      flags |= a.flag;
      if (o.invert) inv |= a.flag;
    } else if (p) {
      const parsePortText = (s: string): number | undefined => {
        try {
          return parsePort(s, 'tcp', ctx, o.token);
        } catch (e) {
          if (e instanceof ParseError) return undefined;
          throw e;
        }
      };
      ports.set(p.key, parseUintRange(arg(o, ctx), 65535, ctx, o.token, parsePortText));
      flags |= p.flag;
      if (o.invert) inv |= p.flag;
    } else {
      switch (o.name) {
        case 'ctstate':
          stateMask = parseNames(arg(o, ctx), CT_STATES, 'ctstate', ctx, o.token);
          flags |= XT_CONNTRACK.STATE;
          if (o.invert) inv |= XT_CONNTRACK.STATE;
          break;
        case 'ctproto':
          try {
            proto = parseProtocol(arg(o, ctx), ctx.family);
          } catch (e) {
            if (e instanceof ParseError) ctx.fail(e.message, o.token, e.expected);
            throw e;
          }
          flags |= XT_CONNTRACK.PROTO;
          if (o.invert) inv |= XT_CONNTRACK.PROTO;
          break;
        case 'ctstatus':
          status = parseNames(arg(o, ctx), CT_STATUS, 'ctstatus', ctx, o.token);
          flags |= XT_CONNTRACK.STATUS;
          if (o.invert) inv |= XT_CONNTRACK.STATUS;
          break;
        case 'ctexpire':
          expires = parseUintRange(arg(o, ctx), 0xffffffff, ctx, o.token, (s) => strtoui(s, 0xffffffff));
          flags |= XT_CONNTRACK.EXPIRES;
          if (o.invert) inv |= XT_CONNTRACK.EXPIRES;
          break;
        case 'ctdir': {
          noInvert(o, ctx, 'conntrack');
          const d = arg(o, ctx).toUpperCase();
          if (d !== 'ORIGINAL' && d !== 'REPLY') ctx.fail(`conntrack: Bad value for "--ctdir" option: "${o.value}"`, o.token, 'ORIGINAL or REPLY');
          flags |= XT_CONNTRACK.DIRECTION;
          if (d === 'REPLY') inv |= XT_CONNTRACK.DIRECTION;
          break;
        }
        default:
          ctx.fail(`conntrack: unknown option ${o.token}`, o.token);
      }
    }
  }
  const f: Fields = { match_flags: String(flags), invert_flags: String(inv) };
  if (stateMask !== undefined) f['state_mask'] = String(stateMask);
  if (proto !== undefined) f['l4proto'] = String(proto);
  for (const a of ADDRS) {
    const v = addrs.get(a.key);
    if (!v) continue;
    f[`${a.key}_addr`] = v['addr']!;
    f[`${a.key}_mask`] = v['mask']!;
    if (v['mask_tail']) f[`${a.key}_mask_tail`] = v['mask_tail'];
  }
  if (status !== undefined) f['status_mask'] = String(status);
  if (expires) {
    f['expires_min'] = String(expires[0]);
    f['expires_max'] = String(expires[1]);
  }
  for (const p of PORTS) {
    const v = ports.get(p.key);
    if (!v) continue;
    f[p.key] = String(v[0]);
    f[`${p.key}_high`] = String(v[1]);
  }
  return f;
}

function maskSuffix(mask: string, family: Family): string {
  const bytes = family === 'ipv4' ? new Uint8Array(mask.split('.').map(Number)) : parseIPv6(mask);
  if (!bytes) return '/' + mask;
  const bits = maskToPrefix(bytes);
  if (bits < 0) return '/' + mask;
  return bits === bytes.length * 8 ? '' : `/${bits}`;
}

function addrText(m: Match, key: string, family: Family, numeric: boolean): string {
  const addr = m.fields[`${key}_addr`] ?? (family === 'ipv4' ? '0.0.0.0' : '::');
  const mask = m.fields[`${key}_mask`] ?? (family === 'ipv4' ? '0.0.0.0' : '::');
  // Without -n iptables prints `anywhere` for a zero address whatever the mask, and otherwise
  // looks the address up in DNS; iptkit does no DNS and prints the number.
  if (!numeric && (addr === '0.0.0.0' || addr === '::')) return 'anywhere';
  return addr + maskSuffix(mask, family);
}

/** conntrack_dump: the words after `-m conntrack` (prefix '--') or in the listing (''). */
function dump(m: Match, prefix: string, family: Family, numeric: boolean): string {
  const flags = num(m.fields, 'match_flags') || 0;
  const inv = num(m.fields, 'invert_flags') || 0;
  const out: string[] = [];
  const not = (bit: number): void => {
    if (inv & bit) out.push('!');
  };
  if (flags & XT_CONNTRACK.STATE) {
    not(XT_CONNTRACK.STATE);
    out.push(`${prefix}${flags & XT_CONNTRACK.STATE_ALIAS ? 'state' : 'ctstate'} ${stateText(num(m.fields, 'state_mask') || 0)}`);
  }
  if (flags & XT_CONNTRACK.PROTO) {
    not(XT_CONNTRACK.PROTO);
    out.push(`${prefix}ctproto ${num(m.fields, 'l4proto') || 0}`);
  }
  for (const a of ADDRS) {
    if (!(flags & a.flag)) continue;
    not(a.flag);
    out.push(`${prefix}${a.option} ${addrText(m, a.key, family, numeric)}`);
  }
  for (const p of PORTS) {
    if (!(flags & p.flag)) continue;
    not(p.flag);
    const lo = num(m.fields, p.key) || 0;
    const hi = num(m.fields, `${p.key}_high`) || 0;
    out.push(`${prefix}${p.option} ${hi === 0 || lo === hi ? lo : `${lo}:${hi}`}`);
  }
  if (flags & XT_CONNTRACK.STATUS) {
    not(XT_CONNTRACK.STATUS);
    out.push(`${prefix}ctstatus ${statusText(num(m.fields, 'status_mask') || 0)}`);
  }
  if (flags & XT_CONNTRACK.EXPIRES) {
    not(XT_CONNTRACK.EXPIRES);
    const lo = num(m.fields, 'expires_min') || 0;
    const hi = num(m.fields, 'expires_max') || 0;
    out.push(`${prefix}ctexpire ${lo === hi ? lo : `${lo}:${hi}`}`);
  }
  if (flags & XT_CONNTRACK.DIRECTION) {
    out.push(`${prefix}ctdir ${inv & XT_CONNTRACK.DIRECTION ? 'REPLY' : 'ORIGINAL'}`);
  }
  return out.join(' ');
}

const isAlias = (m: Match): boolean => ((num(m.fields, 'match_flags') || 0) & XT_CONNTRACK.STATE_ALIAS) !== 0;

export const conntrack: MatchExtension = {
  kind: 'match',
  names: ['conntrack'],
  kernelName: 'conntrack',
  revisions: [3],
  options: [
    ...['ctstate', 'ctproto', 'ctorigsrc', 'ctorigdst', 'ctreplsrc', 'ctrepldst'].map((name) => ({ name, hasArg: true, invertible: true })),
    ...['ctorigsrcport', 'ctorigdstport', 'ctreplsrcport', 'ctrepldstport', 'ctstatus', 'ctexpire'].map((name) => ({ name, hasArg: true, invertible: true })),
    { name: 'ctdir', hasArg: true },
  ],
  revision: () => 3,
  accepts: (m) => !isAlias(m),
  build,
  save: (m, ctx) => {
    const d = dump(m, '--', ctx.family, true);
    return d ? `-m conntrack ${d}` : '-m conntrack';
  },
  list: (m, ctx) => dump(m, '', ctx.family, ctx.numeric),
};

function buildState(options: readonly ParsedOption[], ctx: ParseContext): Fields {
  const seen = once(options, ctx, 'state');
  const o = seen.get('state');
  for (const other of options) if (other !== o) ctx.fail(`state: unknown option ${other.token}`, other.token);
  if (!o) ctx.fail('state: option "--state" must be specified', '-m state', '--state STATES');
  const text = arg(o, ctx);
  if (text === '' || text.endsWith(',')) {
    ctx.fail('"--state" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED', o.token, 'ESTABLISHED,RELATED');
  }
  const mask = parseNames(text, STATE_STATES, 'state', ctx, o.token);
  return {
    match_flags: String(XT_CONNTRACK.STATE | XT_CONNTRACK.STATE_ALIAS),
    invert_flags: o.invert ? String(XT_CONNTRACK.STATE) : '0',
    state_mask: String(mask),
  };
}

/** `-m state`: written as conntrack rev 3 with STATE_ALIAS, as iptables 1.8.9 does. */
export const state: MatchExtension = {
  kind: 'match',
  names: ['state'],
  kernelName: 'conntrack',
  revisions: [3],
  options: [{ name: 'state', hasArg: true, invertible: true }],
  revision: () => 3,
  accepts: isAlias,
  build: buildState,
  save: (m, ctx) => `-m state ${dump(m, '--', ctx.family, true)}`,
  list: (m, ctx: PrintContext) => dump(m, '', ctx.family, ctx.numeric),
};

// xt_state_info bits: the conntrack ones, but UNTRACKED is 1 << (IP_CT_NUMBER + 1) = 16.
const V0_PRINT: readonly (readonly [string, number])[] = [
  ['INVALID', 1],
  ['NEW', 8],
  ['RELATED', 4],
  ['ESTABLISHED', 2],
  ['UNTRACKED', 16],
];

function v0Text(m: Match): string {
  const mask = num(m.fields, 'statemask') || 0;
  return V0_PRINT.filter(([, b]) => mask & b)
    .map(([n]) => n)
    .join(',');
}

/**
 * The `state` rev 0 match that older iptables wrote; printed like `-m state`, never chosen
 * for input (no names): iptables 1.8.9 writes conntrack rev 3 instead.
 */
export const stateV0: MatchExtension = {
  kind: 'match',
  names: [],
  kernelName: 'state',
  revisions: [0],
  options: [{ name: 'state', hasArg: true, invertible: true }],
  revision: () => 0,
  build: (options, ctx) => {
    const f = buildState(options, ctx);
    let mask = 0;
    const ct = Number(f['state_mask']);
    for (const [name, bit] of V0_PRINT) if (ct & CT_STATE_BIT.get(name)!) mask |= bit;
    if (f['invert_flags'] !== '0') ctx.fail('state rev 0 cannot be inverted', '!', '--state without !');
    return { statemask: String(mask) };
  },
  save: (m) => `-m state --state ${v0Text(m)}`,
  list: (m) => `state ${v0Text(m)}`,
};
