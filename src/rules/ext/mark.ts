// The `mark` match, revision 1 (kernel xt_mark_mtinfo1): --mark VALUE[/MASK].
//
// Fields (native/ext/xt_mark.cc), every one always present, in this order:
//   mark=0xN  mask=0xN  invert=N       (mask 0xffffffff when no /MASK was given)

import { strtoui } from '../address.js';
import type { Fields, Match } from '../model.js';
import { arg, num, once } from './common.js';
import type { MatchExtension, ParseContext, ParsedOption } from './types.js';

const hex = (n: number): string => '0x' + n.toString(16);

function build(options: readonly ParsedOption[], ctx: ParseContext): Fields {
  const seen = once(options, ctx, 'mark');
  const o = seen.get('mark');
  for (const other of options) if (other !== o) ctx.fail(`mark: unknown option ${other.token}`, other.token);
  if (!o) ctx.fail('mark: option "--mark" must be specified', '-m mark', '--mark VALUE[/MASK]');
  const text = arg(o, ctx);
  const slash = text.indexOf('/');
  const mark = strtoui(slash < 0 ? text : text.slice(0, slash), 0xffffffff);
  const mask = slash < 0 ? 0xffffffff : strtoui(text.slice(slash + 1), 0xffffffff);
  if (mark === undefined || mask === undefined) {
    ctx.fail(`mark: bad integer value for option "--mark", or out of range: \`${text}'`, o.token, 'VALUE[/MASK], each 0-0xffffffff');
  }
  return { mark: hex(mark), mask: hex(mask), invert: o.invert ? '1' : '0' };
}

function text(m: Match): { inv: boolean; value: string } {
  const mark = num(m.fields, 'mark') || 0;
  const mask = num(m.fields, 'mask');
  const value = hex(mark) + (mask === 0xffffffff || Number.isNaN(mask) ? '' : '/' + hex(mask));
  return { inv: num(m.fields, 'invert') > 0, value };
}

export const mark: MatchExtension = {
  kind: 'match',
  names: ['mark'],
  kernelName: 'mark',
  revisions: [1],
  options: [{ name: 'mark', hasArg: true, invertible: true }],
  revision: () => 1,
  build,
  save(m) {
    const t = text(m);
    return `-m mark${t.inv ? ' !' : ''} --mark ${t.value}`;
  },
  list(m) {
    const t = text(m);
    return `mark match ${t.inv ? '! ' : ''}${t.value}`;
  },
};
