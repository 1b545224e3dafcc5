// The MASQUERADE target: `-j MASQUERADE [--to-ports PORT[-PORT]] [--random] [--random-fully]`.
// Revision 0 in both families (IPv4: struct nf_nat_ipv4_multi_range_compat, IPv6: struct
// nf_nat_range); iptables 1.8.9 writes it.
//
// Fields (native/ext/xt_MASQUERADE.cc, schema in nat-range.ts):
//   flags=N min_addr=ADDR max_addr=ADDR min_proto=PORT max_proto=PORT  [rangesize=N]
// The addresses stay the family's zero address; --to-ports fills the ports.

import type { Family, Fields } from '../model.js';
import type { OptionSpec, ParseContext, ParsedOption, TargetExtension } from './types.js';
import {
  NF_NAT_RANGE_PROTO_RANDOM,
  NF_NAT_RANGE_PROTO_RANDOM_FULLY,
  emptyRange,
  formatNat,
  parsePorts,
  rangeFields,
  rangeFromFields,
} from './nat-range.js';
import { collectOptions } from './target-util.js';

const options: readonly OptionSpec[] = [
  { name: 'to-ports', hasArg: true },
  { name: 'random', hasArg: false },
  { name: 'random-fully', hasArg: false },
];

export const MASQUERADE: TargetExtension = {
  kind: 'target',
  names: ['MASQUERADE'],
  kernelName: 'MASQUERADE',
  revisions: [0],
  options,
  revision: (_family: Family) => 0,
  build(opts: readonly ParsedOption[], ctx: ParseContext): Fields {
    const seen = collectOptions('MASQUERADE', opts, options, ctx);
    const r = emptyRange(ctx.family);
    const ports = seen.get('to-ports');
    if (ports) parsePorts(ports.value!, ctx, ports.token, r);
    r.baseProto = 0;
    if (seen.has('random')) r.flags |= NF_NAT_RANGE_PROTO_RANDOM;
    if (seen.has('random-fully')) r.flags |= NF_NAT_RANGE_PROTO_RANDOM_FULLY;
    return rangeFields(r, false);
  },
  save(target, ctx) {
    const text = formatNat(rangeFromFields(target.fields, ctx.family), ctx.family, '--to-ports ', '--', true);
    return text === '' ? '-j MASQUERADE' : `-j MASQUERADE ${text}`;
  },
  list(target, ctx) {
    return formatNat(rangeFromFields(target.fields, ctx.family), ctx.family, 'masq ports: ', '', true);
  },
};
