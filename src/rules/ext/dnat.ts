// The DNAT target: `-j DNAT --to-destination [ADDR[-ADDR]][:PORT[-PORT[/BASE]]] [--random]
// [--persistent]`. iptables 1.8.9 writes revision 2 (struct nf_nat_range2) in both families;
// revisions 0 (IPv4 compat) and 1 (struct nf_nat_range) print the same way.
//
// Fields (native/ext/xt_nat.cc, schema in nat-range.ts):
//   flags=N min_addr=ADDR max_addr=ADDR min_proto=PORT max_proto=PORT
//   base_proto=PORT (revision 2)  rangesize=N (revision 0, when not 1)

import type { Family, Fields } from '../model.js';
import type { OptionSpec, ParseContext, ParsedOption, TargetExtension } from './types.js';
import {
  NF_NAT_RANGE_PERSISTENT,
  NF_NAT_RANGE_PROTO_RANDOM,
  emptyRange,
  formatNat,
  parseTo,
  rangeFields,
  rangeFromFields,
} from './nat-range.js';
import { collectOptions, requireOption } from './target-util.js';

const options: readonly OptionSpec[] = [
  { name: 'to-destination', hasArg: true },
  { name: 'random', hasArg: false },
  { name: 'persistent', hasArg: false },
];

export const DNAT: TargetExtension = {
  kind: 'target',
  names: ['DNAT'],
  kernelName: 'DNAT',
  revisions: [0, 1, 2],
  options,
  revision: (_family: Family) => 2,
  build(opts: readonly ParsedOption[], ctx: ParseContext): Fields {
    const seen = collectOptions('DNAT', opts, options, ctx);
    const to = requireOption('DNAT', seen, 'to-destination', ctx);
    const r = emptyRange(ctx.family);
    parseTo(to.value!, ctx.family, ctx, to.token, r);
    if (seen.has('random')) r.flags |= NF_NAT_RANGE_PROTO_RANDOM;
    if (seen.has('persistent')) r.flags |= NF_NAT_RANGE_PERSISTENT;
    return rangeFields(r, true);
  },
  save(target, ctx) {
    const text = formatNat(rangeFromFields(target.fields, ctx.family), ctx.family, '--to-destination ', '--', false);
    return text === '' ? '-j DNAT' : `-j DNAT ${text}`;
  },
  list(target, ctx) {
    return formatNat(rangeFromFields(target.fields, ctx.family), ctx.family, 'to:', '', false);
  },
};
