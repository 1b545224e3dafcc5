// The `limit` match (kernel xt_rateinfo, revision 0): --limit RATE[/second|minute|hour|day],
// --limit-burst N. Only avg and burst are userspace's; the kernel keeps its bucket state in
// the rest of the struct, which the codec never reads or compares.
//
// Fields (native/ext/xt_limit.cc), every one always present, in this order:
//   avg=N    average time between packets in 1/10000 s (XT_LIMIT_SCALE / rate)
//   burst=N

import { strtoui } from '../address.js';
import type { Fields, Match } from '../model.js';
import { arg, noInvert, num, once } from './common.js';
import type { MatchExtension, ParseContext, ParsedOption } from './types.js';

export const XT_LIMIT_SCALE = 10000;
const DEFAULT_AVG = (XT_LIMIT_SCALE * 3600) / 3; // 3/hour
const DEFAULT_BURST = 5;
const MAX_BURST = 10000;

const UNITS: readonly (readonly [string, number])[] = [
  ['second', 1],
  ['minute', 60],
  ['hour', 3600],
  ['day', 86400],
];

/** parse_rate: a leading integer (atoi), then an optional /unit (any prefix of the word). */
function parseRate(text: string, ctx: ParseContext, token: string): number {
  const slash = text.indexOf('/');
  let mult = 1;
  if (slash >= 0) {
    const unit = text.slice(slash + 1).toLowerCase();
    const u = unit === '' ? undefined : UNITS.find(([name]) => name.startsWith(unit));
    if (!u) ctx.fail(`bad rate "${text}"`, token, 'RATE[/second|/minute|/hour|/day]');
    mult = u[1];
  }
  const m = /^\s*[+-]?\d+/.exec(text);
  const rate = m ? parseInt(m[0], 10) : 0;
  if (!(rate > 0)) ctx.fail(`bad rate "${text}"`, token, 'a rate of at least 1');
  const avg = Math.floor((XT_LIMIT_SCALE * mult) / rate);
  if (avg === 0) ctx.fail(`Rate too fast "${text}"`, token, `at most ${XT_LIMIT_SCALE * mult}/${slash >= 0 ? text.slice(slash + 1) : 'second'}`);
  return avg;
}

// print_rate's units: the largest one that divides the period without too much remainder.
const PRINT_UNITS: readonly (readonly [string, number])[] = [
  ['day', XT_LIMIT_SCALE * 86400],
  ['hour', XT_LIMIT_SCALE * 3600],
  ['min', XT_LIMIT_SCALE * 60],
  ['sec', XT_LIMIT_SCALE],
];

export function rateText(period: number): string {
  if (period === 0) return 'inf';
  let i = 1;
  for (; i < PRINT_UNITS.length; i++) {
    const mult = PRINT_UNITS[i]![1];
    if (period > mult || Math.floor(mult / period) < mult % period) break;
  }
  const [name, mult] = PRINT_UNITS[i - 1]!;
  return `${Math.floor(mult / period)}/${name}`;
}

function build(options: readonly ParsedOption[], ctx: ParseContext): Fields {
  once(options, ctx, 'limit');
  let avg = DEFAULT_AVG;
  let burst = DEFAULT_BURST;
  for (const o of options) {
    if (o.invert) ctx.fail('limit does not support invert', o.token, `${o.token} without !`);
    noInvert(o, ctx, 'limit');
    if (o.name === 'limit') avg = parseRate(arg(o, ctx), ctx, o.token);
    else if (o.name === 'limit-burst') {
      const b = strtoui(arg(o, ctx), MAX_BURST);
      if (b === undefined) {
        ctx.fail(`limit: bad value for option "--limit-burst", or out of range (0-${MAX_BURST}): \`${o.value}'`, o.token, `a number 1-${MAX_BURST}`);
      }
      // iptables accepts 0 and the kernel then refuses the rule with ERANGE.
      if (b === 0) ctx.fail('limit: --limit-burst 0 is refused by the kernel (Numerical result out of range)', o.token, `a number 1-${MAX_BURST}`);
      burst = b;
    } else ctx.fail(`limit: unknown option ${o.token}`, o.token);
  }
  return { avg: String(avg), burst: String(burst) };
}

export const limit: MatchExtension = {
  kind: 'match',
  names: ['limit'],
  kernelName: 'limit',
  revisions: [0],
  options: [
    { name: 'limit', hasArg: true },
    { name: 'limit-burst', hasArg: true },
  ],
  revision: () => 0,
  build,
  save(m: Match) {
    const burst = num(m.fields, 'burst');
    let s = `-m limit --limit ${rateText(num(m.fields, 'avg') || 0)}`;
    if (burst !== DEFAULT_BURST) s += ` --limit-burst ${burst}`;
    return s;
  },
  list(m: Match) {
    return `limit: avg ${rateText(num(m.fields, 'avg') || 0)} burst ${num(m.fields, 'burst')}`;
  },
};
