// The `tcp` match (kernel xt_tcp, revision 0): --sport/--dport ranges, --tcp-flags, --syn,
// --tcp-option.
//
// Fields (native/ext/xt_tcp.cc), every one always present, in this order:
//   spts=LO:HI  dpts=LO:HI  option=N  flg_mask=N  flg_cmp=N  invflags=N
// flags: FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32; invflags: SRCPT=1 DSTPT=2 FLAGS=4 OPTION=8.

import { strtoui } from '../address.js';
import type { Fields, Match } from '../model.js';
import { arg, num } from './common.js';
import { parsePortRange, portText, rangeFromWire, rangeToWire } from './ports.js';
import type { MatchExtension, OptionSpec, ParseContext, ParsedOption, PrintContext } from './types.js';

export const XT_TCP_INV_SRCPT = 0x01;
export const XT_TCP_INV_DSTPT = 0x02;
export const XT_TCP_INV_FLAGS = 0x04;
export const XT_TCP_INV_OPTION = 0x08;

// libxt_tcp's names, in the order it prints them; ALL and NONE only on input.
const TCP_FLAGS: readonly (readonly [string, number])[] = [
  ['FIN', 0x01],
  ['SYN', 0x02],
  ['RST', 0x04],
  ['PSH', 0x08],
  ['ACK', 0x10],
  ['URG', 0x20],
];
const ALL = 0x3f;

/**
 * --tcp-flags takes two arguments (mask and comparison); the rule parser hands them over as
 * one value joined by a space: 'SYN,ACK SYN'.
 */
const TCP_FLAGS_OPTION: OptionSpec & { readonly args: 2 } = { name: 'tcp-flags', hasArg: true, invertible: true, args: 2 };

function parseFlags(text: string, ctx: ParseContext, token: string): number {
  let mask = 0;
  for (const name of text.split(',')) {
    const upper = name.toUpperCase();
    if (upper === 'ALL') mask |= ALL;
    else if (upper === 'NONE') continue;
    else {
      const f = TCP_FLAGS.find(([n]) => n === upper);
      if (!f) ctx.fail(`Unknown TCP flag \`${name}'`, token, 'FIN, SYN, RST, PSH, ACK, URG, ALL or NONE');
      mask |= f[1];
    }
  }
  return mask;
}

/** print_tcpf: names joined by ',', NONE for zero. */
export function tcpFlagsText(flags: number): string {
  const names = TCP_FLAGS.filter(([, bit]) => flags & bit).map(([n]) => n);
  return names.length ? names.join(',') : 'NONE';
}

function hex2(n: number): string {
  return '0x' + n.toString(16).toUpperCase().padStart(2, '0');
}

/** A port range in iptables-save text: `P` or `LO:HI`. */
export function savePorts(lo: number, hi: number): string {
  return lo === hi ? String(lo) : `${lo}:${hi}`;
}

/** print_ports of libxt_tcp/libxt_udp: ' spt:P', ' spts:!LO:HI', … or '' for any. */
export function listPorts(name: string, lo: number, hi: number, invert: boolean, proto: string, numeric: boolean): string {
  if (lo === 0 && hi === 0xffff && !invert) return '';
  const inv = invert ? '!' : '';
  if (lo === hi) return ` ${name}:${inv}${portText(lo, proto, numeric)}`;
  return ` ${name}s:${inv}${portText(lo, proto, numeric)}:${portText(hi, proto, numeric)}`;
}

/** -m tcp / -m udp need the rule's own -p, not inverted: the kernel refuses them otherwise. */
export function requireProtocol(ctx: ParseContext, proto: number, name: string): void {
  if (ctx.protocol !== proto || ctx.protocolInvert) {
    ctx.fail(
      `-m ${name} needs -p ${name}: the kernel refuses the ${name} match on any other protocol (iptables reports "Invalid argument")`,
      `-m ${name}`,
      `-p ${name}`,
    );
  }
}

function build(options: readonly ParsedOption[], ctx: ParseContext): Fields {
  requireProtocol(ctx, 6, 'tcp');
  let spts: [number, number] = [0, 0xffff];
  let dpts: [number, number] = [0, 0xffff];
  let option = 0;
  let mask = 0;
  let cmp = 0;
  let inv = 0;
  let flagsSeen: ParsedOption | undefined;
  const seen = new Set<string>();
  for (const o of options) {
    if (o.name === 'syn' || o.name === 'tcp-flags') {
      if (flagsSeen) ctx.fail("Only one of `--syn' or `--tcp-flags' allowed", o.token, 'one of --syn or --tcp-flags');
      flagsSeen = o;
    } else if (seen.has(o.name)) {
      const long = o.name === 'sport' ? 'source-port' : o.name === 'dport' ? 'destination-port' : o.name;
      ctx.fail(`Only one \`--${long}' allowed`, o.token, 'the option once');
    }
    seen.add(o.name);
    switch (o.name) {
      case 'sport':
        spts = parsePortRange(arg(o, ctx), 'tcp', ctx, o.token);
        if (o.invert) inv |= XT_TCP_INV_SRCPT;
        break;
      case 'dport':
        dpts = parsePortRange(arg(o, ctx), 'tcp', ctx, o.token);
        if (o.invert) inv |= XT_TCP_INV_DSTPT;
        break;
      case 'syn':
        mask = 0x17; // FIN,SYN,RST,ACK
        cmp = 0x02;
        if (o.invert) inv |= XT_TCP_INV_FLAGS;
        break;
      case 'tcp-flags': {
        const parts = arg(o, ctx).trim().split(/\s+/);
        if (parts.length !== 2) ctx.fail('--tcp-flags requires two args.', o.token, 'a mask and the flags that must be set: SYN,ACK SYN');
        mask = parseFlags(parts[0]!, ctx, o.token);
        cmp = parseFlags(parts[1]!, ctx, o.token);
        if (o.invert) inv |= XT_TCP_INV_FLAGS;
        break;
      }
      case 'tcp-option': {
        const v = strtoui(arg(o, ctx), 255);
        if (v === undefined) ctx.fail(`Bad TCP option \`${o.value}'`, o.token, 'an option kind 0-255');
        option = v;
        if (o.invert) inv |= XT_TCP_INV_OPTION;
        break;
      }
      default:
        ctx.fail(`tcp: unknown option ${o.token}`, o.token);
    }
  }
  return {
    spts: rangeToWire(spts[0], spts[1]),
    dpts: rangeToWire(dpts[0], dpts[1]),
    option: String(option),
    flg_mask: String(mask),
    flg_cmp: String(cmp),
    invflags: String(inv),
  };
}

interface Tcp {
  spts: [number, number];
  dpts: [number, number];
  option: number;
  mask: number;
  cmp: number;
  inv: number;
}

function read(m: Match): Tcp {
  const f = m.fields;
  return {
    spts: rangeFromWire(f['spts']) ?? [0, 0xffff],
    dpts: rangeFromWire(f['dpts']) ?? [0, 0xffff],
    option: num(f, 'option') || 0,
    mask: num(f, 'flg_mask') || 0,
    cmp: num(f, 'flg_cmp') || 0,
    inv: num(f, 'invflags') || 0,
  };
}

function save(m: Match): string {
  const t = read(m);
  let s = '-m tcp';
  if (t.spts[0] !== 0 || t.spts[1] !== 0xffff) {
    s += `${t.inv & XT_TCP_INV_SRCPT ? ' !' : ''} --sport ${savePorts(t.spts[0], t.spts[1])}`;
  }
  if (t.dpts[0] !== 0 || t.dpts[1] !== 0xffff) {
    s += `${t.inv & XT_TCP_INV_DSTPT ? ' !' : ''} --dport ${savePorts(t.dpts[0], t.dpts[1])}`;
  }
  if (t.option || t.inv & XT_TCP_INV_OPTION) {
    s += `${t.inv & XT_TCP_INV_OPTION ? ' !' : ''} --tcp-option ${t.option}`;
  }
  if (t.mask || t.inv & XT_TCP_INV_FLAGS) {
    s += `${t.inv & XT_TCP_INV_FLAGS ? ' !' : ''} --tcp-flags ${tcpFlagsText(t.mask)} ${tcpFlagsText(t.cmp)}`;
  }
  return s;
}

function list(m: Match, ctx: PrintContext): string {
  const t = read(m);
  let s = 'tcp';
  s += listPorts('spt', t.spts[0], t.spts[1], (t.inv & XT_TCP_INV_SRCPT) !== 0, 'tcp', ctx.numeric);
  s += listPorts('dpt', t.dpts[0], t.dpts[1], (t.inv & XT_TCP_INV_DSTPT) !== 0, 'tcp', ctx.numeric);
  if (t.option || t.inv & XT_TCP_INV_OPTION) s += ` option=${t.inv & XT_TCP_INV_OPTION ? '!' : ''}${t.option}`;
  if (t.mask || t.inv & XT_TCP_INV_FLAGS) {
    s += ` flags:${t.inv & XT_TCP_INV_FLAGS ? '!' : ''}`;
    s += ctx.numeric ? `${hex2(t.mask)}/${hex2(t.cmp)}` : `${tcpFlagsText(t.mask)}/${tcpFlagsText(t.cmp)}`;
  }
  if (t.inv & ~0x0f) s += ` Unknown invflags: 0x${(t.inv & ~0x0f).toString(16).toUpperCase()}`;
  return s;
}

export const tcp: MatchExtension = {
  kind: 'match',
  names: ['tcp'],
  kernelName: 'tcp',
  revisions: [0],
  options: [
    { name: 'sport', aliases: ['source-port'], hasArg: true, invertible: true },
    { name: 'dport', aliases: ['destination-port'], hasArg: true, invertible: true },
    { name: 'syn', hasArg: false, invertible: true },
    TCP_FLAGS_OPTION,
    { name: 'tcp-option', hasArg: true, invertible: true },
  ],
  revision: () => 0,
  build,
  save,
  list,
};
