// The `udp` match (kernel xt_udp, revision 0): --sport/--dport ranges.
//
// Fields (native/ext/xt_udp.cc), every one always present, in this order:
//   spts=LO:HI  dpts=LO:HI  invflags=N      (invflags: SRCPT=1 DSTPT=2)

import type { Fields, Match } from '../model.js';
import { arg, num } from './common.js';
import { parsePortRange, rangeFromWire, rangeToWire } from './ports.js';
import { listPorts, requireProtocol, savePorts } from './tcp.js';
import type { MatchExtension, ParseContext, ParsedOption, PrintContext } from './types.js';

export const XT_UDP_INV_SRCPT = 0x01;
export const XT_UDP_INV_DSTPT = 0x02;

function build(options: readonly ParsedOption[], ctx: ParseContext): Fields {
  requireProtocol(ctx, 17, 'udp');
  let spts: [number, number] = [0, 0xffff];
  let dpts: [number, number] = [0, 0xffff];
  let inv = 0;
  const seen = new Set<string>();
  for (const o of options) {
    if (seen.has(o.name)) ctx.fail(`udp: option "--${o.name}" can only be used once`, o.token, 'the option once');
    seen.add(o.name);
    if (o.name === 'sport') {
      spts = parsePortRange(arg(o, ctx), 'udp', ctx, o.token);
      if (o.invert) inv |= XT_UDP_INV_SRCPT;
    } else if (o.name === 'dport') {
      dpts = parsePortRange(arg(o, ctx), 'udp', ctx, o.token);
      if (o.invert) inv |= XT_UDP_INV_DSTPT;
    } else {
      ctx.fail(`udp: unknown option ${o.token}`, o.token);
    }
  }
  return { spts: rangeToWire(spts[0], spts[1]), dpts: rangeToWire(dpts[0], dpts[1]), invflags: String(inv) };
}

function read(m: Match): { spts: [number, number]; dpts: [number, number]; inv: number } {
  return {
    spts: rangeFromWire(m.fields['spts']) ?? [0, 0xffff],
    dpts: rangeFromWire(m.fields['dpts']) ?? [0, 0xffff],
    inv: num(m.fields, 'invflags') || 0,
  };
}

function save(m: Match): string {
  const u = read(m);
  let s = '-m udp';
  if (u.spts[0] !== 0 || u.spts[1] !== 0xffff) {
    s += `${u.inv & XT_UDP_INV_SRCPT ? ' !' : ''} --sport ${savePorts(u.spts[0], u.spts[1])}`;
  }
  if (u.dpts[0] !== 0 || u.dpts[1] !== 0xffff) {
    s += `${u.inv & XT_UDP_INV_DSTPT ? ' !' : ''} --dport ${savePorts(u.dpts[0], u.dpts[1])}`;
  }
  return s;
}

function list(m: Match, ctx: PrintContext): string {
  const u = read(m);
  let s = 'udp';
  s += listPorts('spt', u.spts[0], u.spts[1], (u.inv & XT_UDP_INV_SRCPT) !== 0, 'udp', ctx.numeric);
  s += listPorts('dpt', u.dpts[0], u.dpts[1], (u.inv & XT_UDP_INV_DSTPT) !== 0, 'udp', ctx.numeric);
  if (u.inv & ~0x03) s += ` Unknown invflags: 0x${(u.inv & ~0x03).toString(16).toUpperCase()}`;
  return s;
}

export const udp: MatchExtension = {
  kind: 'match',
  names: ['udp'],
  kernelName: 'udp',
  revisions: [0],
  options: [
    { name: 'sport', aliases: ['source-port'], hasArg: true, invertible: true },
    { name: 'dport', aliases: ['destination-port'], hasArg: true, invertible: true },
  ],
  revision: () => 0,
  build,
  save,
  list,
};
