// The `icmp` match (IPv4, kernel ipt_icmp) and the `icmp6` match (IPv6, kernel ip6t_icmp,
// users write -m icmp6 or -m icmpv6): --icmp-type / --icmpv6-type by name or TYPE[/CODE].
//
// Fields (native/ext/ipt_icmp.cc, ip6t_icmp6.cc), every one always present, in this order:
//   type=N  code=LO:HI  invflags=N      (invflags: INV=1; type 255 code 0:255 is IPv4 "any")

import { strtoui } from '../address.js';
import type { Family, Fields, Match } from '../model.js';
import { arg, num, once } from './common.js';
import { rangeFromWire, rangeToWire } from './ports.js';
import type { MatchExtension, ParseContext, ParsedOption, PrintContext } from './types.js';

type IcmpName = readonly [name: string, type: number, codeMin: number, codeMax: number];

// The names iptables 1.8.9 knows, in its order: the first entry that fits a type and code
// range is the name the listing prints; later duplicates are input aliases.
// (Recorded from `iptables -p icmp -h` and rules restored with each name.)
export const ICMP_NAMES: readonly IcmpName[] = [
  ['any', 255, 0, 255],
  ['echo-reply', 0, 0, 255],
  ['pong', 0, 0, 255],
  ['destination-unreachable', 3, 0, 255],
  ['network-unreachable', 3, 0, 0],
  ['host-unreachable', 3, 1, 1],
  ['protocol-unreachable', 3, 2, 2],
  ['port-unreachable', 3, 3, 3],
  ['fragmentation-needed', 3, 4, 4],
  ['source-route-failed', 3, 5, 5],
  ['network-unknown', 3, 6, 6],
  ['host-unknown', 3, 7, 7],
  ['network-prohibited', 3, 9, 9],
  ['host-prohibited', 3, 10, 10],
  ['TOS-network-unreachable', 3, 11, 11],
  ['TOS-host-unreachable', 3, 12, 12],
  ['communication-prohibited', 3, 13, 13],
  ['host-precedence-violation', 3, 14, 14],
  ['precedence-cutoff', 3, 15, 15],
  ['source-quench', 4, 0, 255],
  ['redirect', 5, 0, 255],
  ['network-redirect', 5, 0, 0],
  ['host-redirect', 5, 1, 1],
  ['TOS-network-redirect', 5, 2, 2],
  ['TOS-host-redirect', 5, 3, 3],
  ['echo-request', 8, 0, 255],
  ['ping', 8, 0, 255],
  ['router-advertisement', 9, 0, 255],
  ['router-solicitation', 10, 0, 255],
  ['time-exceeded', 11, 0, 255],
  ['ttl-exceeded', 11, 0, 255],
  ['ttl-zero-during-transit', 11, 0, 0],
  ['ttl-zero-during-reassembly', 11, 1, 1],
  ['parameter-problem', 12, 0, 255],
  ['ip-header-bad', 12, 0, 0],
  ['required-option-missing', 12, 1, 1],
  ['timestamp-request', 13, 0, 255],
  ['timestamp-reply', 14, 0, 255],
  ['address-mask-request', 17, 0, 255],
  ['address-mask-reply', 18, 0, 255],
];

// (Recorded from `ip6tables -p icmpv6 -h` and rules restored with each name.)
export const ICMPV6_NAMES: readonly IcmpName[] = [
  ['destination-unreachable', 1, 0, 255],
  ['no-route', 1, 0, 0],
  ['communication-prohibited', 1, 1, 1],
  ['beyond-scope', 1, 2, 2],
  ['address-unreachable', 1, 3, 3],
  ['port-unreachable', 1, 4, 4],
  ['failed-policy', 1, 5, 5],
  ['reject-route', 1, 6, 6],
  ['packet-too-big', 2, 0, 255],
  ['time-exceeded', 3, 0, 255],
  ['ttl-exceeded', 3, 0, 255],
  ['ttl-zero-during-transit', 3, 0, 0],
  ['ttl-zero-during-reassembly', 3, 1, 1],
  ['parameter-problem', 4, 0, 255],
  ['bad-header', 4, 0, 0],
  ['unknown-header-type', 4, 1, 1],
  ['unknown-option', 4, 2, 2],
  ['echo-request', 128, 0, 255],
  ['ping', 128, 0, 255],
  ['echo-reply', 129, 0, 255],
  ['pong', 129, 0, 255],
  ['router-solicitation', 133, 0, 255],
  ['router-advertisement', 134, 0, 255],
  ['neighbour-solicitation', 135, 0, 255],
  ['neighbor-solicitation', 135, 0, 255],
  ['neighbour-advertisement', 136, 0, 255],
  ['neighbor-advertisement', 136, 0, 255],
  ['redirect', 137, 0, 255],
];

interface Variant {
  family: Family;
  proto: number;
  protoName: string; // what -p needs, in the error message
  module: string; // -m name in save
  option: string; // --icmp-type / --icmpv6-type
  listPrefix: string; // 'icmp' / 'ipv6-icmp'
  label: string; // 'ICMP' / 'ICMPv6'
  names: readonly IcmpName[];
  saveAny: boolean; // IPv4 saves type 255/0:255 as `any`
}

/** A name (case-insensitive, an unambiguous prefix will do) or TYPE[/CODE]. */
function parseIcmpType(text: string, v: Variant, ctx: ParseContext, token: string): [number, number, number] {
  const lower = text.toLowerCase();
  const exact = v.names.find(([n]) => n.toLowerCase() === lower);
  if (exact) return [exact[1], exact[2], exact[3]];
  const prefixed = v.names.filter(([n]) => n.toLowerCase().startsWith(lower));
  if (prefixed.length > 1 && lower !== '') {
    ctx.fail(`Ambiguous ${v.label} type \`${text}': \`${prefixed[0]![0]}' or \`${prefixed[1]![0]}'?`, token, `one ${v.label} type`);
  }
  if (prefixed.length === 1 && lower !== '') return [prefixed[0]![1], prefixed[0]![2], prefixed[0]![3]];
  const slash = text.indexOf('/');
  const typeText = slash < 0 ? text : text.slice(0, slash);
  const type = strtoui(typeText, 255);
  if (type === undefined) ctx.fail(`Unknown ${v.label} type \`${text}'`, token, `an ${v.label} type name or TYPE[/CODE] with numbers 0-255`);
  if (slash < 0) return [type, 0, 255];
  const code = strtoui(text.slice(slash + 1), 255);
  if (code === undefined) ctx.fail(`Invalid ${v.label} code \`${text.slice(slash + 1)}'`, token, 'a code 0-255');
  return [type, code, code];
}

function makeBuild(v: Variant) {
  return (options: readonly ParsedOption[], ctx: ParseContext): Fields => {
    if (ctx.protocol !== v.proto || ctx.protocolInvert) {
      ctx.fail(
        `-m ${v.module} needs -p ${v.protoName}: the kernel refuses the ${v.module} match on any other protocol (iptables reports "Invalid argument")`,
        `-m ${v.module}`,
        `-p ${v.protoName}`,
      );
    }
    const seen = once(options, ctx, v.module);
    const o = seen.get(v.option.slice(2));
    for (const other of options) if (other !== o) ctx.fail(`${v.module}: unknown option ${other.token}`, other.token);
    // Without --icmp-type the kernel struct stays zeroed apart from the code range (type 0).
    let type = 0;
    let lo = 0;
    let hi = 255;
    let inv = 0;
    if (o) {
      [type, lo, hi] = parseIcmpType(arg(o, ctx), v, ctx, o.token);
      if (o.invert) inv = 1;
    }
    return { type: String(type), code: rangeToWire(lo, hi), invflags: String(inv) };
  };
}

function read(m: Match): { type: number; lo: number; hi: number; inv: boolean } {
  const [lo, hi] = rangeFromWire(m.fields['code']) ?? [0, 255];
  return { type: num(m.fields, 'type') || 0, lo, hi, inv: (num(m.fields, 'invflags') & 1) === 1 };
}

function makeSave(v: Variant) {
  return (m: Match): string => {
    const i = read(m);
    let s = `-m ${v.module}${i.inv ? ' !' : ''} ${v.option}`;
    if (v.saveAny && i.type === 255) return `${s} any`;
    s += ` ${i.type}`;
    if (i.lo !== 0 || i.hi !== 255) s += `/${i.lo}`;
    return s;
  };
}

function makeList(v: Variant) {
  return (m: Match, ctx: PrintContext): string => {
    const i = read(m);
    if (!ctx.numeric) {
      const hit = v.names.find(([, t, lo, hi]) => t === i.type && lo === i.lo && hi === i.hi);
      if (hit) return `${v.listPrefix} ${i.inv ? '!' : ''}${hit[0]}`;
    }
    // iptables prints ' icmp' then 'type N' with no space between unless inverted.
    let s = `${v.listPrefix}${i.inv ? ' !' : ''}type ${i.type}`;
    if (i.lo === i.hi) s += ` code ${i.lo}`;
    else if (i.lo !== 0 || i.hi !== 255) s += ` codes ${i.lo}-${i.hi}`;
    const extra = num(m.fields, 'invflags') & ~1;
    if (extra) s += ` Unknown invflags: 0x${extra.toString(16).toUpperCase()}`;
    return s;
  };
}

function make(v: Variant, names: readonly string[], kernelName: string): MatchExtension {
  return {
    kind: 'match',
    names,
    kernelName,
    revisions: [0],
    family: v.family,
    options: [{ name: v.option.slice(2), hasArg: true, invertible: true }],
    revision: () => 0,
    build: makeBuild(v),
    save: makeSave(v),
    list: makeList(v),
  };
}

export const icmp = make(
  {
    family: 'ipv4',
    proto: 1,
    protoName: 'icmp',
    module: 'icmp',
    option: '--icmp-type',
    listPrefix: 'icmp',
    label: 'ICMP',
    names: ICMP_NAMES,
    saveAny: true,
  },
  ['icmp'],
  'icmp',
);

export const icmp6 = make(
  {
    family: 'ipv6',
    proto: 58,
    protoName: 'ipv6-icmp',
    module: 'icmp6',
    option: '--icmpv6-type',
    listPrefix: 'ipv6-icmp',
    label: 'ICMPv6',
    names: ICMPV6_NAMES,
    saveAny: false,
  },
  ['icmp6', 'icmpv6'],
  'icmp6',
);
