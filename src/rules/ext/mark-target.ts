// The MARK target (struct xt_mark_tginfo2, revision 2, both families): the kernel sets
// nfmark = (nfmark & ~mask) ^ mark. `-j MARK` takes exactly one of --set-xmark V[/M],
// --set-mark V[/M], --and-mark B, --or-mark B, --xor-mark B (libxt_MARK).
// (Named mark-target.ts: the `mark` match lives in its own module.)
//
// Fields (native/ext/xt_MARK.cc), both always present, lower-case hex:
//   mark=0xN     value XORed in
//   mask=0xN     bits cleared first

import type { Family, Fields } from '../model.js';
import type { OptionSpec, ParseContext, ParsedOption, TargetExtension } from './types.js';
import { collectOptions, hex, num, parseUnsigned, parseUnsignedPrefix } from './target-util.js';

const U32 = 0xffffffff;
const NAMES = ['set-xmark', 'set-mark', 'and-mark', 'or-mark', 'xor-mark'] as const;
const options: readonly OptionSpec[] = NAMES.map((name) => ({ name, hasArg: true }));

/** XTTYPE_MARKMASK32: `VALUE[/MASK]`, mask defaulting to all ones. */
function markMask(opt: ParsedOption, ctx: ParseContext): [number, number] {
  const bad = (): never =>
    ctx.fail(`MARK: bad integer value for option "--${opt.name}", or out of range: "${opt.value}"`, opt.token, 'VALUE[/MASK]');
  const v = parseUnsignedPrefix(opt.value!);
  if (!v || v.value > U32) return bad();
  if (v.rest === '') return [v.value, U32];
  if (v.rest[0] !== '/') return bad();
  const m = parseUnsigned(v.rest.slice(1), 0, U32);
  if (m === undefined) return bad();
  return [v.value, m];
}

function bits(opt: ParsedOption, ctx: ParseContext): number {
  const n = parseUnsigned(opt.value!, 0, U32);
  if (n === undefined) {
    ctx.fail(`MARK: bad value for option "--${opt.name}", or out of range (0-4294967295): "${opt.value}"`, opt.token, 'a 32-bit number');
  }
  return n;
}

export const MARK: TargetExtension = {
  kind: 'target',
  names: ['MARK'],
  kernelName: 'MARK',
  revisions: [2],
  options,
  revision: (_family: Family) => 2,
  build(opts: readonly ParsedOption[], ctx: ParseContext): Fields {
    const seen = collectOptions('MARK', opts, options, ctx, NAMES);
    const [opt] = [...seen.values()];
    if (!opt) {
      ctx.fail('MARK: one of the --set-xmark, --{and,or,xor,set}-mark options is required', undefined, '--set-xmark');
    }
    let mark: number;
    let mask: number;
    switch (opt.name) {
      case 'set-xmark':
        [mark, mask] = markMask(opt, ctx);
        break;
      case 'set-mark': {
        const [v, m] = markMask(opt, ctx);
        mark = v;
        mask = (v | m) >>> 0;
        break;
      }
      case 'and-mark':
        mark = 0;
        mask = ~bits(opt, ctx) >>> 0;
        break;
      case 'or-mark':
        mark = mask = bits(opt, ctx);
        break;
      default:
        mark = bits(opt, ctx);
        mask = 0;
    }
    return { mark: hex(mark), mask: hex(mask) };
  },
  save(target) {
    return `-j MARK --set-xmark ${hex(num(target.fields['mark']))}/${hex(num(target.fields['mask']))}`;
  },
  list(target) {
    const mark = num(target.fields['mark']) >>> 0;
    const mask = num(target.fields['mask']) >>> 0;
    if (mark === 0) return `MARK and ${hex(~mask)}`;
    if (mark === mask) return `MARK or ${hex(mark)}`;
    if (mask === 0) return `MARK xor ${hex(mark)}`;
    if (mask === U32) return `MARK set ${hex(mark)}`;
    return `MARK xset ${hex(mark)}/${hex(mask)}`;
  },
};
