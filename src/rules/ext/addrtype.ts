// The `addrtype` match, revision 1 (kernel xt_addrtype_info_v1): --src-type/--dst-type,
// --limit-iface-in/--limit-iface-out.
//
// Fields (native/ext/xt_addrtype.cc), every one always present, in this order:
//   source=N  dest=N  flags=N
// source/dest: 1 << RTN_* (UNSPEC=1 UNICAST=2 LOCAL=4 BROADCAST=8 …);
// flags: INVERT_SOURCE=1 INVERT_DEST=2 LIMIT_IFACE_IN=4 LIMIT_IFACE_OUT=8.

import type { Fields, Match } from '../model.js';
import { arg, noInvert, num, once } from './common.js';
import type { MatchExtension, ParseContext, ParsedOption } from './types.js';

// Bit i is RTN type i (rtnetlink.h order).
export const RTN_NAMES = [
  'UNSPEC',
  'UNICAST',
  'LOCAL',
  'BROADCAST',
  'ANYCAST',
  'MULTICAST',
  'BLACKHOLE',
  'UNREACHABLE',
  'PROHIBIT',
  'THROW',
  'NAT',
  'XRESOLVE',
] as const;

const INVERT_SOURCE = 1;
const INVERT_DEST = 2;
const LIMIT_IFACE_IN = 4;
const LIMIT_IFACE_OUT = 8;

function parseTypes(text: string, ctx: ParseContext, token: string): number {
  let mask = 0;
  for (const name of text.split(',')) {
    // iptables compares the first strlen(name) characters, case-insensitively: a prefix works.
    const lower = name.toLowerCase();
    const i = name === '' ? -1 : RTN_NAMES.findIndex((n) => n.toLowerCase().startsWith(lower));
    if (i < 0) ctx.fail(`addrtype: bad type "${name}"`, token, RTN_NAMES.join(', '));
    mask |= 1 << i;
  }
  return mask;
}

function typesText(mask: number): string {
  return RTN_NAMES.filter((_, i) => mask & (1 << i)).join(',');
}

function build(options: readonly ParsedOption[], ctx: ParseContext): Fields {
  const seen = once(options, ctx, 'addrtype');
  let source = 0;
  let dest = 0;
  let flags = 0;
  for (const o of options) {
    switch (o.name) {
      case 'src-type':
        source = parseTypes(arg(o, ctx), ctx, o.token);
        if (o.invert) flags |= INVERT_SOURCE;
        break;
      case 'dst-type':
        dest = parseTypes(arg(o, ctx), ctx, o.token);
        if (o.invert) flags |= INVERT_DEST;
        break;
      case 'limit-iface-in':
        noInvert(o, ctx, 'addrtype');
        flags |= LIMIT_IFACE_IN;
        break;
      case 'limit-iface-out':
        noInvert(o, ctx, 'addrtype');
        flags |= LIMIT_IFACE_OUT;
        break;
      default:
        ctx.fail(`addrtype: unknown option ${o.token}`, o.token);
    }
  }
  if (!seen.has('src-type') && !seen.has('dst-type')) {
    ctx.fail('addrtype: you must specify --src-type or --dst-type', '-m addrtype', '--src-type or --dst-type');
  }
  if (seen.has('limit-iface-in') && seen.has('limit-iface-out')) {
    ctx.fail(
      "addrtype: you can't specify both --limit-iface-in and --limit-iface-out",
      seen.get('limit-iface-out')!.token,
      'one of --limit-iface-in or --limit-iface-out',
    );
  }
  return { source: String(source), dest: String(dest), flags: String(flags) };
}

function read(m: Match): { source: number; dest: number; flags: number } {
  return { source: num(m.fields, 'source') || 0, dest: num(m.fields, 'dest') || 0, flags: num(m.fields, 'flags') || 0 };
}

function save(m: Match): string {
  const a = read(m);
  let s = '-m addrtype';
  if (a.source) s += `${a.flags & INVERT_SOURCE ? ' !' : ''} --src-type ${typesText(a.source)}`;
  if (a.dest) s += `${a.flags & INVERT_DEST ? ' !' : ''} --dst-type ${typesText(a.dest)}`;
  if (a.flags & LIMIT_IFACE_IN) s += ' --limit-iface-in';
  if (a.flags & LIMIT_IFACE_OUT) s += ' --limit-iface-out';
  return s;
}

function list(m: Match): string {
  const a = read(m);
  let s = 'ADDRTYPE match';
  if (a.source) s += ` src-type ${a.flags & INVERT_SOURCE ? '!' : ''}${typesText(a.source)}`;
  if (a.dest) s += ` dst-type ${a.flags & INVERT_DEST ? '!' : ''}${typesText(a.dest)}`;
  if (a.flags & LIMIT_IFACE_IN) s += ' limit-in';
  if (a.flags & LIMIT_IFACE_OUT) s += ' limit-out';
  return s;
}

export const addrtype: MatchExtension = {
  kind: 'match',
  names: ['addrtype'],
  kernelName: 'addrtype',
  revisions: [1],
  options: [
    { name: 'src-type', hasArg: true, invertible: true },
    { name: 'dst-type', hasArg: true, invertible: true },
    { name: 'limit-iface-in', hasArg: false },
    { name: 'limit-iface-out', hasArg: false },
  ],
  revision: () => 1,
  build,
  save,
  list,
};
