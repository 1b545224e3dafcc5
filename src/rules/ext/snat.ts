// The SNAT target: `-j SNAT --to-source [ADDR[-ADDR]][:PORT[-PORT]] [--random]
// [--random-fully] [--persistent]`. iptables 1.8.9 writes revision 0 for IPv4 (struct
// nf_nat_ipv4_multi_range_compat) and revision 1 for IPv6 (struct nf_nat_range); revision 2
// (struct nf_nat_range2) prints the same way.
//
// Fields (native/ext/xt_nat.cc, schema in nat-range.ts):
//   flags=N min_addr=ADDR max_addr=ADDR min_proto=PORT max_proto=PORT
//   base_proto=PORT (revision 2)  rangesize=N (revision 0, when not 1)
// A `/BASE` after the ports is accepted as iptables does; it sets the offset flag but the
// structs iptables writes for SNAT have no room for the base, so it reads back as `/0`.

import type { Family, Fields } from '../model.js';
import type { OptionSpec, ParseContext, ParsedOption, TargetExtension } from './types.js';
import {
  NF_NAT_RANGE_PERSISTENT,
  NF_NAT_RANGE_PROTO_RANDOM,
  NF_NAT_RANGE_PROTO_RANDOM_FULLY,
  emptyRange,
  formatNat,
  parseTo,
  rangeFields,
  rangeFromFields,
} from './nat-range.js';
import { collectOptions, requireOption } from './target-util.js';

const options: readonly OptionSpec[] = [
  { name: 'to-source', hasArg: true },
  { name: 'random', hasArg: false },
  { name: 'random-fully', hasArg: false },
  { name: 'persistent', hasArg: false },
];

export const SNAT: TargetExtension = {
  kind: 'target',
  names: ['SNAT'],
  kernelName: 'SNAT',
  revisions: [0, 1, 2],
  options,
  revision: (family: Family) => (family === 'ipv4' ? 0 : 1),
  build(opts: readonly ParsedOption[], ctx: ParseContext): Fields {
    const seen = collectOptions('SNAT', opts, options, ctx);
    const to = requireOption('SNAT', seen, 'to-source', ctx);
    const r = emptyRange(ctx.family);
    parseTo(to.value!, ctx.family, ctx, to.token, r);
    r.baseProto = 0;
    if (seen.has('random')) r.flags |= NF_NAT_RANGE_PROTO_RANDOM;
    if (seen.has('random-fully')) r.flags |= NF_NAT_RANGE_PROTO_RANDOM_FULLY;
    if (seen.has('persistent')) r.flags |= NF_NAT_RANGE_PERSISTENT;
    return rangeFields(r, false);
  },
  save(target, ctx) {
    const text = formatNat(rangeFromFields(target.fields, ctx.family), ctx.family, '--to-source ', '--', false);
    return text === '' ? '-j SNAT' : `-j SNAT ${text}`;
  },
  list(target, ctx) {
    return formatNat(rangeFromFields(target.fields, ctx.family), ctx.family, 'to:', '', false);
  },
};
