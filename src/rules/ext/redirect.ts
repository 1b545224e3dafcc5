// The REDIRECT target: `-j REDIRECT [--to-ports PORT[-PORT]] [--random]`. Revision 0 in both
// families (IPv4: struct nf_nat_ipv4_multi_range_compat, IPv6: struct nf_nat_range);
// iptables 1.8.9 writes it.
//
// Fields (native/ext/xt_REDIRECT.cc, schema in nat-range.ts):
//   flags=N min_addr=ADDR max_addr=ADDR min_proto=PORT max_proto=PORT  [rangesize=N]

import type { Family, Fields } from '../model.js';
import type { OptionSpec, ParseContext, ParsedOption, TargetExtension } from './types.js';
import { NF_NAT_RANGE_PROTO_RANDOM, emptyRange, formatNat, parsePorts, rangeFields, rangeFromFields } from './nat-range.js';
import { collectOptions } from './target-util.js';

const options: readonly OptionSpec[] = [
  { name: 'to-ports', hasArg: true },
  { name: 'random', hasArg: false },
];

export const REDIRECT: TargetExtension = {
  kind: 'target',
  names: ['REDIRECT'],
  kernelName: 'REDIRECT',
  revisions: [0],
  options,
  revision: (_family: Family) => 0,
  build(opts: readonly ParsedOption[], ctx: ParseContext): Fields {
    const seen = collectOptions('REDIRECT', opts, options, ctx);
    const r = emptyRange(ctx.family);
    const ports = seen.get('to-ports');
    if (ports) parsePorts(ports.value!, ctx, ports.token, r);
    r.baseProto = 0;
    if (seen.has('random')) r.flags |= NF_NAT_RANGE_PROTO_RANDOM;
    return rangeFields(r, false);
  },
  save(target, ctx) {
    const text = formatNat(rangeFromFields(target.fields, ctx.family), ctx.family, '--to-ports ', '--', true);
    return text === '' ? '-j REDIRECT' : `-j REDIRECT ${text}`;
  },
  list(target, ctx) {
    return formatNat(rangeFromFields(target.fields, ctx.family), ctx.family, 'redir ports ', '', true);
  },
};
