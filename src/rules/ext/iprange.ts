// The `iprange` match, revision 1 (kernel xt_iprange_mtinfo): --src-range/--dst-range
// FROM[-TO], IPv4 and IPv6.
//
// Fields (native/ext/xt_iprange.cc), in this order:
//   src_min=A src_max=A      when --src-range is given
//   dst_min=A dst_max=A      when --dst-range is given
//   flags=N                  SRC=1 DST=2 SRC_INV=16 DST_INV=32, always present
// Addresses in inet_ntop form of the rule's family.

import { formatIPv6, parseIPv6, strtoui } from '../address.js';
import type { Family, Fields, Match } from '../model.js';
import { arg, num, once } from './common.js';
import type { MatchExtension, ParseContext, ParsedOption } from './types.js';

export const IPRANGE_SRC = 1;
export const IPRANGE_DST = 2;
export const IPRANGE_SRC_INV = 16;
export const IPRANGE_DST_INV = 32;

/** A numeric address in the family's canonical inet_ntop form, or undefined. */
export function canonicalAddress(text: string, family: Family): string | undefined {
  if (family === 'ipv6') {
    const b = parseIPv6(text);
    return b ? formatIPv6(b) : undefined;
  }
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => strtoui(p, 255));
  if (bytes.some((b) => b === undefined)) return undefined;
  return bytes.join('.');
}

function parseRange(text: string, family: Family, ctx: ParseContext, token: string): [string, string] {
  // IPv6 addresses hold no '-', so the first '-' separates the ends in both families.
  const dash = text.indexOf('-');
  const ends = dash < 0 ? [text, text] : [text.slice(0, dash), text.slice(dash + 1)];
  const out = ends.map((e) => {
    const a = canonicalAddress(e, family);
    if (a === undefined) {
      ctx.fail(`iprange: Bad value for option "${token}": "${e}"`, token, family === 'ipv4' ? 'FROM[-TO] IPv4 addresses' : 'FROM[-TO] IPv6 addresses');
    }
    return a;
  });
  return [out[0]!, out[1]!];
}

function build(options: readonly ParsedOption[], ctx: ParseContext): Fields {
  const seen = once(options, ctx, 'iprange');
  const src = seen.get('src-range');
  const dst = seen.get('dst-range');
  for (const o of options) if (o !== src && o !== dst) ctx.fail(`iprange: unknown option ${o.token}`, o.token);
  if (!src && !dst) ctx.fail("iprange match: You must specify `--src-range' or `--dst-range'", '-m iprange', '--src-range or --dst-range');
  const f: Fields = {};
  let flags = 0;
  if (src) {
    [f['src_min'], f['src_max']] = parseRange(arg(src, ctx), ctx.family, ctx, src.token);
    flags |= IPRANGE_SRC | (src.invert ? IPRANGE_SRC_INV : 0);
  }
  if (dst) {
    [f['dst_min'], f['dst_max']] = parseRange(arg(dst, ctx), ctx.family, ctx, dst.token);
    flags |= IPRANGE_DST | (dst.invert ? IPRANGE_DST_INV : 0);
  }
  f['flags'] = String(flags);
  return f;
}

function parts(m: Match): { src?: [string, boolean]; dst?: [string, boolean] } {
  const flags = num(m.fields, 'flags') || 0;
  const out: { src?: [string, boolean]; dst?: [string, boolean] } = {};
  if (flags & IPRANGE_SRC) out.src = [`${m.fields['src_min']}-${m.fields['src_max']}`, (flags & IPRANGE_SRC_INV) !== 0];
  if (flags & IPRANGE_DST) out.dst = [`${m.fields['dst_min']}-${m.fields['dst_max']}`, (flags & IPRANGE_DST_INV) !== 0];
  return out;
}

export const iprange: MatchExtension = {
  kind: 'match',
  names: ['iprange'],
  kernelName: 'iprange',
  revisions: [1],
  options: [
    { name: 'src-range', hasArg: true, invertible: true },
    { name: 'dst-range', hasArg: true, invertible: true },
  ],
  revision: () => 1,
  build,
  save(m) {
    const p = parts(m);
    let s = '-m iprange';
    if (p.src) s += `${p.src[1] ? ' !' : ''} --src-range ${p.src[0]}`;
    if (p.dst) s += `${p.dst[1] ? ' !' : ''} --dst-range ${p.dst[0]}`;
    return s;
  },
  list(m) {
    const p = parts(m);
    const out: string[] = [];
    if (p.src) out.push(`source IP range ${p.src[1] ? '! ' : ''}${p.src[0]}`);
    if (p.dst) out.push(`destination IP range ${p.dst[1] ? '! ' : ''}${p.dst[0]}`);
    return out.join(' ');
  },
};
